package dev.ember.trainer.model.cpu;

/**
 * Sigmoid followed by binary cross-entropy, fused on the logit {@code z} for stability:
 * {@code loss = max(z, 0) - z*y + log(1 + exp(-|z|))}, {@code dloss/dz = sigmoid(z) - y}. Computed
 * in double per sample, then rounded once.
 */
final class LogLoss {
    private LogLoss() {
    }

    /** The loss of one sample with logit {@code z} and label {@code y}. */
    static double loss(float z, float y) {
        double zd = z;
        return Math.max(zd, 0.0) - zd * y + Math.log1p(Math.exp(-Math.abs(zd)));
    }

    /** {@code sigmoid(z)}. */
    static double probability(float z) {
        double zd = z;
        return zd >= 0 ? 1.0 / (1.0 + Math.exp(-zd)) : Math.exp(zd) / (1.0 + Math.exp(zd));
    }
}

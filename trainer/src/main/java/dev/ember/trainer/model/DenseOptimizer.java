package dev.ember.trainer.model;

/** How the MLP weights are updated from their gradient {@code g} (the gradient of the batch-mean loss). */
public enum DenseOptimizer {
    /** {@code w -= lr * g}. No state. */
    SGD,
    /**
     * PyTorch's Adagrad without decay: {@code a += g*g; w -= lr * (g / (sqrt(a) + eps))}, one
     * accumulator per weight starting at zero.
     */
    ADAGRAD;

    /** Whether one float of state is kept per weight. */
    public boolean hasState() {
        return this == ADAGRAD;
    }
}

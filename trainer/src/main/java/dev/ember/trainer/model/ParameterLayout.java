package dev.ember.trainer.model;

/**
 * Where each MLP layer's weights and bias sit in one flat float vector. The same layout serves
 * the weights, their gradients and the optimizer state, on every backend.
 *
 * <pre>
 *  layer:   0 (bottom)            1 (bottom)                     L-1 (top, last)
 *         +--------------+------+--------------+------+-- ... --+-----------+----+
 *         | W0 out0 x in0| b0   | W1 out1 x in1| b1   |         | W 1 x in  | b  |
 *         +--------------+------+--------------+------+-- ... --+-----------+----+
 *  W row-major as PyTorch's nn.Linear.weight: W[o][i] at weightOffset(l) + o * in + i
 *  so y[o] = b[o] + sum_i W[o][i] * x[i]; bottom layers first, then top layers.
 * </pre>
 */
public final class ParameterLayout {
    private final ModelConfig config;
    private final int[] weightOffsets;
    private final int[] biasOffsets;
    private final int size;

    public ParameterLayout(ModelConfig config) {
        this.config = config;
        int layers = config.layers();
        weightOffsets = new int[layers];
        biasOffsets = new int[layers];
        long at = 0;
        for (int l = 0; l < layers; l++) {
            weightOffsets[l] = (int) at;
            at += (long) config.inputWidth(l) * config.outputWidth(l);
            biasOffsets[l] = (int) at;
            at += config.outputWidth(l);
            if (at > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("MLP of " + config + " has more than 2^31 parameters; shrink the MLP widths");
            }
        }
        size = (int) at;
    }

    public ModelConfig config() {
        return config;
    }

    public int layers() {
        return weightOffsets.length;
    }

    /** Floats in the whole vector. */
    public int size() {
        return size;
    }

    public int weightOffset(int layer) {
        return weightOffsets[layer];
    }

    public int biasOffset(int layer) {
        return biasOffsets[layer];
    }

    public int inputWidth(int layer) {
        return config.inputWidth(layer);
    }

    public int outputWidth(int layer) {
        return config.outputWidth(layer);
    }
}

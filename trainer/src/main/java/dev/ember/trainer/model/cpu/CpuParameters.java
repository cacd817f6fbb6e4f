package dev.ember.trainer.model.cpu;

import dev.ember.trainer.model.DenseOptimizer;
import dev.ember.trainer.model.ModelConfig;
import dev.ember.trainer.model.ModelState;
import dev.ember.trainer.model.OptimizerSettings;
import dev.ember.trainer.model.ParameterLayout;

import java.util.Arrays;

/**
 * The CPU backend's MLP weights with everything that changes them: per-chunk partial gradients,
 * their sum, the optimizer and its state.
 *
 * <pre>
 *  w[l]        [out(l)][in(l)]   as PyTorch's nn.Linear.weight;  bias[l] [out(l)]
 *  wT[l]       [in(l)][out(l)]   the transpose, refreshed by each update (the forward pass reads it)
 *  partialW    [chunks][l][out][in], partialB [chunks][l][out]   one chunk's rows' gradient
 *  gradW, gradB                  the partials summed in chunk order
 *  stateW, stateB                Adagrad accumulators, same shapes (none for SGD)
 * </pre>
 * Reduction and update run over fixed blocks of output rows ({@link #blocks()}), so threads
 * can share them without changing any sum's order. Blobs use the flat {@link ParameterLayout}.
 */
final class CpuParameters {
    /** Weights reduced or updated by one task. */
    private static final int BLOCK_WEIGHTS = 16 * 1024;

    private final ModelConfig config;
    private final ParameterLayout layout;
    private final int layers;
    private final DenseOptimizer optimizer;
    private final float epsilon;
    private final float[][][] w;
    private final float[][] bias;
    private final float[][][] wT;
    private final float[][][][] partialW;
    private final float[][][] partialB;
    private final float[][][] gradW;
    private final float[][] gradB;
    private final float[][][] stateW;
    private final float[][] stateB;
    /** Blocks of output rows: layer, first row, end row. */
    private final int[] blockLayer;
    private final int[] blockRow0;
    private final int[] blockRow1;
    private float learningRate;
    private long updates;

    CpuParameters(ModelState initial, int chunks) {
        config = initial.config();
        layout = new ParameterLayout(config);
        layers = config.layers();
        optimizer = initial.optimizer().kind();
        epsilon = initial.optimizer().epsilon();
        w = weightShaped();
        bias = biasShaped();
        wT = new float[layers][][];
        for (int l = 0; l < layers; l++) {
            wT[l] = new float[config.inputWidth(l)][config.outputWidth(l)];
        }
        partialW = new float[chunks][][][];
        partialB = new float[chunks][][];
        for (int c = 0; c < chunks; c++) {
            partialW[c] = weightShaped();
            partialB[c] = biasShaped();
        }
        gradW = weightShaped();
        gradB = biasShaped();
        stateW = optimizer.hasState() ? weightShaped() : null;
        stateB = optimizer.hasState() ? biasShaped() : null;

        int blocks = 0;
        for (int l = 0; l < layers; l++) {
            int rows = rowsPerBlock(l);
            blocks += (config.outputWidth(l) + rows - 1) / rows;
        }
        blockLayer = new int[blocks];
        blockRow0 = new int[blocks];
        blockRow1 = new int[blocks];
        for (int l = 0, b = 0; l < layers; l++) {
            int rows = rowsPerBlock(l);
            for (int o = 0; o < config.outputWidth(l); o += rows, b++) {
                blockLayer[b] = l;
                blockRow0[b] = o;
                blockRow1[b] = Math.min(config.outputWidth(l), o + rows);
            }
        }
        load(initial);
    }

    private int rowsPerBlock(int l) {
        return Math.max(1, BLOCK_WEIGHTS / config.inputWidth(l));
    }

    private float[][][] weightShaped() {
        float[][][] a = new float[layers][][];
        for (int l = 0; l < layers; l++) {
            a[l] = new float[config.outputWidth(l)][config.inputWidth(l)];
        }
        return a;
    }

    private float[][] biasShaped() {
        float[][] a = new float[layers][];
        for (int l = 0; l < layers; l++) {
            a[l] = new float[config.outputWidth(l)];
        }
        return a;
    }

    /** Layer {@code l}'s weights, {@code [out][in]}. */
    float[][] weights(int l) {
        return w[l];
    }

    /** Layer {@code l}'s weights transposed, {@code [in][out]}. */
    float[][] transposed(int l) {
        return wT[l];
    }

    float[] bias(int l) {
        return bias[l];
    }

    /** Chunk {@code c}'s weight gradient of layer {@code l}. */
    float[][] partialWeights(int c, int l) {
        return partialW[c][l];
    }

    /** Chunk {@code c}'s bias gradient of layer {@code l}. */
    float[] partialBias(int c, int l) {
        return partialB[c][l];
    }

    /** Zeroes chunk {@code c}'s partial gradients. */
    void clearPartials(int c) {
        for (int l = 0; l < layers; l++) {
            for (float[] row : partialW[c][l]) {
                Arrays.fill(row, 0f);
            }
            Arrays.fill(partialB[c][l], 0f);
        }
    }

    /** Blocks of output rows that {@link #reduce} and {@link #update} work on. */
    int blocks() {
        return blockLayer.length;
    }

    /** Sums the first {@code chunks} partials of block {@code b} into the gradient, in chunk order. */
    void reduce(int b, int chunks) {
        int l = blockLayer[b];
        int in = config.inputWidth(l);
        for (int o = blockRow0[b]; o < blockRow1[b]; o++) {
            float[] g = gradW[l][o];
            System.arraycopy(partialW[0][l][o], 0, g, 0, in);
            for (int c = 1; c < chunks; c++) {
                float[] p = partialW[c][l][o];
                for (int i = 0; i < in; i++) {
                    g[i] += p[i];
                }
            }
            float s = partialB[0][l][o];
            for (int c = 1; c < chunks; c++) {
                s += partialB[c][l][o];
            }
            gradB[l][o] = s;
        }
    }

    /** Applies the optimizer to block {@code b} and refreshes its column of {@code wT}. */
    void update(int b) {
        int l = blockLayer[b];
        float lr = learningRate;
        float[][] t = wT[l];
        for (int o = blockRow0[b]; o < blockRow1[b]; o++) {
            float[] row = w[l][o];
            if (optimizer == DenseOptimizer.SGD) {
                sgd(row, gradW[l][o], lr);
                bias[l][o] -= lr * gradB[l][o];
            } else {
                adagrad(row, gradW[l][o], stateW[l][o], lr, epsilon);
                float g = gradB[l][o];
                float a = stateB[l][o] + g * g;
                stateB[l][o] = a;
                bias[l][o] -= lr * (g / ((float) Math.sqrt(a) + epsilon));
            }
            for (int i = 0; i < row.length; i++) {
                t[i][o] = row[i];
            }
        }
    }

    private static void sgd(float[] w, float[] g, float lr) {
        for (int i = 0; i < w.length; i++) {
            w[i] -= lr * g[i];
        }
    }

    /** PyTorch's Adagrad step: {@code a += g*g; w -= lr * (g / (sqrt(a) + eps))}. */
    private static void adagrad(float[] w, float[] g, float[] a, float lr, float eps) {
        for (int i = 0; i < w.length; i++) {
            float acc = a[i] + g[i] * g[i];
            a[i] = acc;
            w[i] -= lr * (g[i] / ((float) Math.sqrt(acc) + eps));
        }
    }

    /** Counts one applied update (all blocks done). */
    void countUpdate() {
        updates++;
    }

    void setLearningRate(float lr) {
        OptimizerSettings.checkLearningRate(lr);
        learningRate = lr;
    }

    /** Copies the summed gradient into {@code dst}, laid out by {@link ParameterLayout}. */
    void copyGradient(float[] dst) {
        if (dst.length != layout.size()) {
            throw new IllegalArgumentException("parameter gradient needs " + layout.size() + " floats, got " + dst.length);
        }
        flatten(gradW, gradB, dst);
    }

    ModelState save() {
        float[] params = new float[layout.size()];
        flatten(w, bias, params);
        float[] state = new float[optimizer.hasState() ? layout.size() : 0];
        if (optimizer.hasState()) {
            flatten(stateW, stateB, state);
        }
        return new ModelState(config, new OptimizerSettings(optimizer, learningRate, epsilon), updates, params, state);
    }

    /** @throws IllegalArgumentException if {@code s} is of another model shape or optimizer */
    void load(ModelState s) {
        if (!s.config().equals(config)) {
            throw new IllegalArgumentException("saved model is " + s.config() + " but this backend runs " + config
                    + "; start the run with the saved model's shape");
        }
        if (s.optimizer().kind() != optimizer || s.optimizer().epsilon() != epsilon) {
            throw new IllegalArgumentException("saved model was trained with " + s.optimizer() + " but this backend uses "
                    + optimizer + " (eps " + epsilon + "); set the dense optimizer to the saved one");
        }
        unflatten(s.parameters(), w, bias);
        if (optimizer.hasState()) {
            unflatten(s.optimizerState(), stateW, stateB);
        }
        learningRate = s.optimizer().learningRate();
        updates = s.updates();
        for (int l = 0; l < layers; l++) {
            for (int o = 0; o < config.outputWidth(l); o++) {
                for (int i = 0; i < config.inputWidth(l); i++) {
                    wT[l][i][o] = w[l][o][i];
                }
            }
        }
    }

    private void flatten(float[][][] weights, float[][] biases, float[] dst) {
        for (int l = 0; l < layers; l++) {
            int in = config.inputWidth(l);
            for (int o = 0; o < config.outputWidth(l); o++) {
                System.arraycopy(weights[l][o], 0, dst, layout.weightOffset(l) + o * in, in);
            }
            System.arraycopy(biases[l], 0, dst, layout.biasOffset(l), config.outputWidth(l));
        }
    }

    private void unflatten(float[] src, float[][][] weights, float[][] biases) {
        for (int l = 0; l < layers; l++) {
            int in = config.inputWidth(l);
            for (int o = 0; o < config.outputWidth(l); o++) {
                System.arraycopy(src, layout.weightOffset(l) + o * in, weights[l][o], 0, in);
            }
            System.arraycopy(src, layout.biasOffset(l), biases[l], 0, config.outputWidth(l));
        }
    }
}

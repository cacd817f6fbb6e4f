package dev.ember.trainer.model.cpu;

import dev.ember.trainer.model.DenseBackend;
import dev.ember.trainer.model.DenseOptimizer;
import dev.ember.trainer.model.ModelConfig;
import dev.ember.trainer.model.ModelState;
import dev.ember.trainer.model.OptimizerSettings;
import dev.ember.trainer.model.ParameterLayout;
import dev.ember.trainer.model.StepLoss;

import java.util.Arrays;

/**
 * The DLRM dense model in plain Java fp32, threaded over the batch.
 *
 * <p>The batch is cut into {@code chunks} fixed row ranges ({@code ceil(batch / chunks)} rows
 * each, independent of the thread count). One task per chunk runs the whole forward and
 * backward pass for its rows and sums its rows' weight gradients, in row order, into the
 * chunk's own partial vector; a second pass adds the partials in chunk order. So results are
 * bit-identical for any number of threads. No allocation per step.
 *
 * <pre>
 * buffers (row-major, sample r's row at r * width; B bottom layers, L layers, S = widest layer):
 *  dense      [maxBatch][bottom0]
 *  emb        [tables][maxBatch][dim]      pooled vectors in, table t at t * maxBatch * dim
 *  embGrad    [tables][maxBatch][dim]      their gradients out
 *  act[l]     [maxBatch][out(l)]           each layer's output after ReLU; act[L-1] the logits
 *  topIn      [maxBatch][dim + n(n-1)/2]   act[B-1] row, then the pairwise dots
 *  gradA/B    [maxBatch][S]                ping-pong gradients of the layer outputs (stride S)
 *  params     [P]  by ParameterLayout: W (out x in) then b, per layer
 *  paramsT    [P]  W^T (in x out) at the same offsets, refreshed after each update (forward reads it)
 *  partial    [chunks][P]                  per-chunk weight gradients; grad [P] their sum
 *  state      [P]  Adagrad accumulators (empty for SGD)
 * </pre>
 */
public final class CpuDenseBackend implements DenseBackend {
    /** Chunks the batch is cut into: enough for 16 threads. */
    public static final int DEFAULT_CHUNKS = 16;
    /** Floats of parameters updated by one task. */
    private static final int PARAMETER_BLOCK = 16 * 1024;

    private final ModelConfig config;
    private final ParameterLayout layout;
    private final int maxBatch;
    private final int chunks;
    private final ChunkRunner runner;
    private final int bottomLayers;
    private final int layers;
    private final int vectors;
    private final int dim;
    private final int topIn;
    private final int stride;
    private final int size;

    private final float[] dense;
    private final float[] emb;
    private final float[] embGrad;
    private final float[][] act;
    private final float[] topInput;
    private final float[] gradA;
    private final float[] gradB;
    private final float[] labels;
    private final float[] probabilities;
    private final float[][] vectorScratch;
    private final float[][] vectorGradScratch;
    private final double[] lossPartial;

    private final float[] params;
    private final float[] paramsT;
    private final float[] partial;
    private final float[] grad;
    private final float[] state;
    private final DenseOptimizer optimizer;
    private final float epsilon;
    private float learningRate;
    private long updates;

    /** Parameter blocks: layer, first and end output row. */
    private final int[] blockLayer;
    private final int[] blockRow0;
    private final int[] blockRow1;

    private final ChunkRunner.Task forwardTask = this::forwardChunk;
    private final ChunkRunner.Task forwardBackwardTask = this::forwardBackwardChunk;
    private final ChunkRunner.Task reduceTask = this::reduceBlock;
    private final ChunkRunner.Task updateTask = this::updateBlock;
    private final Loss loss = new Loss();

    private int batch;
    private int rowsPerChunk;
    private int usedChunks;
    private boolean gradientReady;

    /** A backend with {@link #DEFAULT_CHUNKS} chunks. */
    public CpuDenseBackend(ModelState initial, int maxBatch, int threads) {
        this(initial, maxBatch, threads, DEFAULT_CHUNKS);
    }

    /**
     * @param initial  weights, optimizer and its state to start from (copied)
     * @param maxBatch the most samples one step takes
     * @param threads  threads in all, the caller's included
     * @param chunks   row ranges the batch is cut into; results depend on it, not on {@code threads}
     */
    public CpuDenseBackend(ModelState initial, int maxBatch, int threads, int chunks) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be at least 1, got " + maxBatch);
        }
        if (chunks < 1) {
            throw new IllegalArgumentException("gradient chunks must be at least 1, got " + chunks);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("CPU backend threads must be at least 1, got " + threads);
        }
        config = initial.config();
        layout = new ParameterLayout(config);
        this.maxBatch = maxBatch;
        this.chunks = chunks;
        bottomLayers = config.bottomLayers();
        layers = config.layers();
        vectors = config.interactionVectors();
        dim = config.dim();
        topIn = config.topInput();
        stride = config.maxWidth();
        size = layout.size();
        if ((long) maxBatch * Math.max(stride, config.tables() * dim) > Integer.MAX_VALUE - 16 || (long) chunks * size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("maxBatch " + maxBatch + " (or chunks " + chunks
                    + ") is too large for the CPU backend's arrays; lower maxBatch");
        }
        dense = new float[maxBatch * config.denseFeatures()];
        emb = new float[maxBatch * config.tables() * dim];
        embGrad = new float[emb.length];
        act = new float[layers][];
        for (int l = 0; l < layers; l++) {
            act[l] = new float[maxBatch * config.outputWidth(l)];
        }
        topInput = new float[maxBatch * topIn];
        gradA = new float[maxBatch * stride];
        gradB = new float[maxBatch * stride];
        labels = new float[maxBatch];
        probabilities = new float[maxBatch];
        vectorScratch = new float[chunks][vectors * dim];
        vectorGradScratch = new float[chunks][vectors * dim];
        lossPartial = new double[chunks];

        params = new float[size];
        paramsT = new float[size];
        partial = new float[chunks * size];
        grad = new float[size];
        optimizer = initial.optimizer().kind();
        epsilon = initial.optimizer().epsilon();
        state = new float[optimizer.hasState() ? size : 0];

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
        runner = new ChunkRunner(threads, "ember-dense");
        restoreState(initial);
    }

    private int rowsPerBlock(int l) {
        return Math.max(1, PARAMETER_BLOCK / config.inputWidth(l));
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public int maxBatch() {
        return maxBatch;
    }

    /** Threads in all, the caller's included. */
    public int threads() {
        return runner.threads();
    }

    @Override
    public void putDense(float[] src, int offset, int batch) {
        checkBatch(batch);
        System.arraycopy(src, offset, dense, 0, batch * config.denseFeatures());
    }

    @Override
    public void putEmbedding(int table, float[] src, int offset, int batch) {
        checkTable(table);
        checkBatch(batch);
        System.arraycopy(src, offset, emb, table * maxBatch * dim, batch * dim);
    }

    @Override
    public void putLabels(float[] src, int offset, int batch) {
        checkBatch(batch);
        for (int r = 0; r < batch; r++) {
            float y = src[offset + r];
            if (!(y >= 0f && y <= 1f)) {
                throw new IllegalArgumentException("label of sample " + r + " is " + y + "; labels must lie in [0, 1]");
            }
        }
        System.arraycopy(src, offset, labels, 0, batch);
    }

    @Override
    public StepLoss forward(int batch) {
        begin(batch);
        gradientReady = false;
        runner.run(forwardTask, usedChunks);
        return loss.of(batch);
    }

    @Override
    public StepLoss forwardBackward(int batch) {
        begin(batch);
        runner.run(forwardBackwardTask, usedChunks);
        runner.run(reduceTask, blockLayer.length);
        gradientReady = true;
        return loss.of(batch);
    }

    @Override
    public void update() {
        if (!gradientReady) {
            throw new IllegalStateException("update() needs the gradients of a forwardBackward() that was not yet applied");
        }
        gradientReady = false;
        runner.run(updateTask, blockLayer.length);
        updates++;
    }

    private void begin(int batch) {
        checkBatch(batch);
        this.batch = batch;
        rowsPerChunk = (batch + chunks - 1) / chunks;
        usedChunks = (batch + rowsPerChunk - 1) / rowsPerChunk;
    }

    private void forwardChunk(int c) {
        int r0 = c * rowsPerChunk;
        int m = Math.min(batch, r0 + rowsPerChunk) - r0;
        forwardRows(c, r0, m);
    }

    private void forwardBackwardChunk(int c) {
        int r0 = c * rowsPerChunk;
        int m = Math.min(batch, r0 + rowsPerChunk) - r0;
        forwardRows(c, r0, m);
        backwardRows(c, r0, m);
    }

    private void forwardRows(int c, int r0, int m) {
        for (int l = 0; l < layers; l++) {
            if (l == bottomLayers) {
                interactionForward(c, r0, m);
            }
            int in = config.inputWidth(l);
            int out = config.outputWidth(l);
            float[] x = input(l);
            Gemm.multiply(x, r0 * in, in, paramsT, layout.weightOffset(l), out, params, layout.biasOffset(l),
                    act[l], r0 * out, out, m, in, out);
            if (config.relu(l)) {
                Gemm.relu(act[l], r0 * out, out, m, out);
            }
        }
        float[] logits = act[layers - 1];
        double sum = 0;
        for (int r = r0; r < r0 + m; r++) {
            sum += LogLoss.loss(logits[r], labels[r]);
            probabilities[r] = (float) LogLoss.probability(logits[r]);
        }
        lossPartial[c] = sum;
    }

    /** The input rows of layer {@code l}: dense features, the previous output, or the interaction. */
    private float[] input(int l) {
        return l == 0 ? dense : l == bottomLayers ? topInput : act[l - 1];
    }

    private void interactionForward(int c, int r0, int m) {
        float[] v = vectorScratch[c];
        float[] bottomOut = act[bottomLayers - 1];
        int tableStride = maxBatch * dim;
        for (int r = r0; r < r0 + m; r++) {
            System.arraycopy(bottomOut, r * dim, v, 0, dim);
            for (int t = 0; t < vectors - 1; t++) {
                System.arraycopy(emb, t * tableStride + r * dim, v, (t + 1) * dim, dim);
            }
            System.arraycopy(v, 0, topInput, r * topIn, dim);
            DotInteraction.forward(v, 0, vectors, dim, topInput, r * topIn + dim);
        }
    }

    private void backwardRows(int c, int r0, int m) {
        int pOff = c * size;
        Arrays.fill(partial, pOff, pOff + size, 0f);
        float[] logits = act[layers - 1];
        float invBatch = 1f / batch;
        float[] cur = gradA;
        float[] next = gradB;
        for (int r = r0; r < r0 + m; r++) {
            cur[r * stride] = (float) (LogLoss.probability(logits[r]) - labels[r]) * invBatch;
        }
        for (int l = layers - 1; l >= 0; l--) {
            int in = config.inputWidth(l);
            int out = config.outputWidth(l);
            int g0 = r0 * stride;
            if (config.relu(l)) {
                Gemm.reluBackward(act[l], r0 * out, out, cur, g0, stride, m, out);
            }
            Gemm.accumulateWeightGradient(cur, g0, stride, input(l), r0 * in, in, partial, pOff + layout.weightOffset(l),
                    m, out, in);
            Gemm.accumulateColumnSums(cur, g0, stride, partial, pOff + layout.biasOffset(l), m, out);
            if (l == 0) {
                break;
            }
            Gemm.multiply(cur, g0, stride, params, layout.weightOffset(l), in, null, 0, next, g0, stride, m, out, in);
            float[] t = cur;
            cur = next;
            next = t;
            if (l == bottomLayers) {
                interactionBackward(c, r0, m, cur);
            }
        }
    }

    /** Turns the top input's gradient rows (in {@code g}) into the bottom output's, in place, and the embeddings'. */
    private void interactionBackward(int c, int r0, int m, float[] g) {
        float[] v = vectorScratch[c];
        float[] dv = vectorGradScratch[c];
        float[] bottomOut = act[bottomLayers - 1];
        int tableStride = maxBatch * dim;
        for (int r = r0; r < r0 + m; r++) {
            System.arraycopy(bottomOut, r * dim, v, 0, dim);
            for (int t = 0; t < vectors - 1; t++) {
                System.arraycopy(emb, t * tableStride + r * dim, v, (t + 1) * dim, dim);
            }
            int gi = r * stride;
            DotInteraction.backward(v, 0, vectors, dim, g, gi + dim, dv, 0);
            for (int d = 0; d < dim; d++) {
                g[gi + d] += dv[d];
            }
            for (int t = 0; t < vectors - 1; t++) {
                System.arraycopy(dv, (t + 1) * dim, embGrad, t * tableStride + r * dim, dim);
            }
        }
    }

    /** Sums the chunk partials of one parameter block into {@code grad}, in chunk order. */
    private void reduceBlock(int b) {
        int l = blockLayer[b];
        int in = config.inputWidth(l);
        reduceRange(layout.weightOffset(l) + blockRow0[b] * in, layout.weightOffset(l) + blockRow1[b] * in);
        reduceRange(layout.biasOffset(l) + blockRow0[b], layout.biasOffset(l) + blockRow1[b]);
    }

    private void reduceRange(int from, int to) {
        System.arraycopy(partial, from, grad, from, to - from);
        for (int c = 1; c < usedChunks; c++) {
            int pOff = c * size;
            for (int i = from; i < to; i++) {
                grad[i] += partial[pOff + i];
            }
        }
    }

    /** Applies the optimizer to one parameter block and refreshes its columns of {@code paramsT}. */
    private void updateBlock(int b) {
        int l = blockLayer[b];
        int in = config.inputWidth(l);
        int out = config.outputWidth(l);
        int w = layout.weightOffset(l);
        updateRange(w + blockRow0[b] * in, w + blockRow1[b] * in);
        updateRange(layout.biasOffset(l) + blockRow0[b], layout.biasOffset(l) + blockRow1[b]);
        Gemm.transpose(params, w, paramsT, w, out, in, blockRow0[b], blockRow1[b]);
    }

    private void updateRange(int from, int to) {
        float lr = learningRate;
        if (optimizer == DenseOptimizer.SGD) {
            for (int i = from; i < to; i++) {
                params[i] -= lr * grad[i];
            }
        } else {
            float eps = epsilon;
            for (int i = from; i < to; i++) {
                float g = grad[i];
                float a = state[i] + g * g;
                state[i] = a;
                params[i] -= lr * (g / ((float) Math.sqrt(a) + eps));
            }
        }
    }

    @Override
    public void getPredictions(float[] dst, int offset, int batch) {
        checkBatch(batch);
        System.arraycopy(probabilities, 0, dst, offset, batch);
    }

    @Override
    public void getEmbeddingGradient(int table, float[] dst, int offset, int batch) {
        checkTable(table);
        checkBatch(batch);
        System.arraycopy(embGrad, table * maxBatch * dim, dst, offset, batch * dim);
    }

    @Override
    public void getParameterGradient(float[] dst) {
        if (dst.length != size) {
            throw new IllegalArgumentException("parameter gradient needs " + size + " floats, got " + dst.length);
        }
        System.arraycopy(grad, 0, dst, 0, size);
    }

    @Override
    public void setLearningRate(float learningRate) {
        OptimizerSettings.checkLearningRate(learningRate);
        this.learningRate = learningRate;
    }

    @Override
    public ModelState saveState() {
        return new ModelState(config, new OptimizerSettings(optimizer, learningRate, epsilon), updates, params.clone(),
                state.clone());
    }

    @Override
    public void restoreState(ModelState s) {
        if (!s.config().equals(config)) {
            throw new IllegalArgumentException("saved model is " + s.config() + " but this backend runs " + config
                    + "; start the run with the saved model's shape");
        }
        if (s.optimizer().kind() != optimizer || s.optimizer().epsilon() != epsilon) {
            throw new IllegalArgumentException("saved model was trained with " + s.optimizer() + " but this backend uses "
                    + optimizer + " (eps " + epsilon + "); set the dense optimizer to the saved one");
        }
        System.arraycopy(s.parameters(), 0, params, 0, size);
        System.arraycopy(s.optimizerState(), 0, state, 0, state.length);
        learningRate = s.optimizer().learningRate();
        updates = s.updates();
        gradientReady = false;
        for (int l = 0; l < layers; l++) {
            int w = layout.weightOffset(l);
            Gemm.transpose(params, w, paramsT, w, config.outputWidth(l), config.inputWidth(l), 0, config.outputWidth(l));
        }
    }

    @Override
    public void close() {
        runner.close();
    }

    private void checkBatch(int batch) {
        if (batch < 1 || batch > maxBatch) {
            throw new IllegalArgumentException("batch " + batch + " is outside [1, maxBatch " + maxBatch
                    + "]; build the backend with a larger maxBatch");
        }
    }

    private void checkTable(int table) {
        if (table < 0 || table >= config.tables()) {
            throw new IllegalArgumentException("table " + table + " is outside [0, " + config.tables() + ")");
        }
    }

    /** The loss of the latest forward pass: the chunk sums added in chunk order. */
    private final class Loss implements StepLoss {
        private double sum;
        private int samples;

        StepLoss of(int batch) {
            double s = 0;
            for (int c = 0; c < usedChunks; c++) {
                s += lossPartial[c];
            }
            sum = s;
            samples = batch;
            return this;
        }

        @Override
        public double mean() {
            return sum / samples;
        }

        @Override
        public int batch() {
            return samples;
        }
    }
}

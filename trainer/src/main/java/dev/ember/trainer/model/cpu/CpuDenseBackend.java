package dev.ember.trainer.model.cpu;

import dev.ember.trainer.model.DenseArgs;
import dev.ember.trainer.model.DenseBackend;
import dev.ember.trainer.model.ModelConfig;
import dev.ember.trainer.model.ModelState;
import dev.ember.trainer.model.StepLoss;

/**
 * The DLRM dense model in plain Java fp32, threaded over the batch.
 *
 * <p>The batch is cut into {@code chunks} fixed row ranges ({@code ceil(batch / chunks)} rows
 * each, independent of the thread count). One task per chunk runs the whole forward and
 * backward pass for its rows and sums its rows' weight gradients, in row order, into the
 * chunk's own partial gradient; a second pass adds the partials in chunk order. So results are
 * bit-identical for any number of threads. No allocation per step.
 *
 * <pre>
 * buffers (B bottom layers, L layers, S = widest layer, n = tables + 1 interaction vectors;
 * [rows][cols] is an array of row arrays, see {@link Gemm} for why; [a][b][c] flat is one array):
 *  dense      [maxBatch][bottom0]
 *  emb        flat [tables][maxBatch][dim]   pooled vectors in: table t, sample r at (t * maxBatch + r) * dim
 *  embGrad    flat [tables][maxBatch][dim]   their gradients out, same layout
 *  act[l]     [maxBatch][out(l)]             layer l's output after its ReLU; act[L-1][r][0] the logit
 *  topInput   [maxBatch][dim + n(n-1)/2]     act[B-1][r], then the pairwise dots (i, j < i)
 *  per chunk, column-wise for {@link DotInteraction} (R = ceil(maxBatch / chunks) rows):
 *             vectors [n*dim][R], their gradients [n*dim][R], dots and their gradients [n(n-1)/2][R]
 *  gradA/B    [maxBatch][S]                  ping-pong gradients of the layer outputs
 *  weights, their per-chunk gradients and optimizer state: see {@link CpuParameters}
 * </pre>
 */
public final class CpuDenseBackend implements DenseBackend {
    /** Chunks the batch is cut into: enough for 16 threads. */
    public static final int DEFAULT_CHUNKS = 16;

    private final ModelConfig config;
    private final int maxBatch;
    private final int chunks;
    private final ChunkRunner runner;
    private final int bottomLayers;
    private final int layers;
    private final int vectors;
    private final int dim;

    private final float[][] dense;
    private final float[] emb;
    private final float[] embGrad;
    private final float[][][] act;
    private final float[][] topInput;
    private final float[][] gradA;
    private final float[][] gradB;
    private final float[] labels;
    private final float[] probabilities;
    private final float[][][] vectorScratch;
    private final float[][][] vectorGradScratch;
    private final float[][][] dotScratch;
    private final double[] lossPartial;

    private final CpuParameters params;

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
        this.maxBatch = maxBatch;
        this.chunks = chunks;
        bottomLayers = config.bottomLayers();
        layers = config.layers();
        vectors = config.interactionVectors();
        dim = config.dim();
        if ((long) maxBatch * config.tables() * dim > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("maxBatch " + maxBatch + " x " + config.tables() + " tables x dim " + dim
                    + " floats do not fit one Java array; lower maxBatch");
        }
        int stride = config.maxWidth();
        dense = new float[maxBatch][config.denseFeatures()];
        emb = new float[maxBatch * config.tables() * dim];
        embGrad = new float[emb.length];
        act = new float[layers][][];
        for (int l = 0; l < layers; l++) {
            act[l] = new float[maxBatch][config.outputWidth(l)];
        }
        topInput = new float[maxBatch][config.topInput()];
        gradA = new float[maxBatch][stride];
        gradB = new float[maxBatch][stride];
        labels = new float[maxBatch];
        probabilities = new float[maxBatch];
        int chunkRows = (maxBatch + chunks - 1) / chunks;
        vectorScratch = new float[chunks][vectors * dim][chunkRows];
        vectorGradScratch = new float[chunks][vectors * dim][chunkRows];
        dotScratch = new float[chunks][config.interactionPairs()][chunkRows];
        lossPartial = new double[chunks];

        params = new CpuParameters(initial, chunks);
        runner = new ChunkRunner(threads, "ember-dense");
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
        int d = config.denseFeatures();
        checkArray("dense features", -1, src, offset, batch * d);
        for (int r = 0; r < batch; r++) {
            System.arraycopy(src, offset + r * d, dense[r], 0, d);
        }
    }

    @Override
    public void putEmbedding(int table, float[] src, int offset, int batch) {
        checkTable(table);
        checkBatch(batch);
        checkArray("pooled embeddings of table ", table, src, offset, batch * dim);
        System.arraycopy(src, offset, emb, table * maxBatch * dim, batch * dim);
    }

    @Override
    public void putLabels(float[] src, int offset, int batch) {
        checkBatch(batch);
        checkArray("labels", -1, src, offset, batch);
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
        runner.run(reduceTask, params.blocks());
        gradientReady = true;
        return loss.of(batch);
    }

    @Override
    public void update() {
        if (!gradientReady) {
            throw new IllegalStateException("update() needs the gradients of a forwardBackward() that was not yet applied");
        }
        gradientReady = false;
        runner.run(updateTask, params.blocks());
        params.countUpdate();
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
            int out = config.outputWidth(l);
            Gemm.multiply(input(l), params.transposed(l), params.bias(l), act[l], r0, m, config.inputWidth(l), out);
            if (config.relu(l)) {
                Gemm.relu(act[l], r0, m, out);
            }
        }
        float[][] logits = act[layers - 1];
        double sum = 0;
        for (int r = r0; r < r0 + m; r++) {
            float z = logits[r][0];
            sum += LogLoss.loss(z, labels[r]);
            probabilities[r] = (float) LogLoss.probability(z);
        }
        lossPartial[c] = sum;
    }

    /** The input rows of layer {@code l}: dense features, the previous output, or the interaction. */
    private float[][] input(int l) {
        return l == 0 ? dense : l == bottomLayers ? topInput : act[l - 1];
    }

    /** Gathers the chunk's interaction vectors (bottom output, then one per table) column-wise into {@code v}. */
    private void gatherVectors(int r0, int m, float[][] v) {
        float[][] bottomOut = act[bottomLayers - 1];
        for (int s = 0; s < m; s++) {
            float[] row = bottomOut[r0 + s];
            for (int d = 0; d < dim; d++) {
                v[d][s] = row[d];
            }
        }
        for (int t = 0; t < vectors - 1; t++) {
            for (int s = 0; s < m; s++) {
                int e = (t * maxBatch + r0 + s) * dim;
                for (int d = 0; d < dim; d++) {
                    v[(t + 1) * dim + d][s] = emb[e + d];
                }
            }
        }
    }

    private void interactionForward(int c, int r0, int m) {
        float[][] v = vectorScratch[c];
        float[][] z = dotScratch[c];
        gatherVectors(r0, m, v);
        DotInteraction.forward(v, vectors, dim, z, m);
        float[][] bottomOut = act[bottomLayers - 1];
        int pairs = z.length;
        for (int s = 0; s < m; s++) {
            float[] row = topInput[r0 + s];
            System.arraycopy(bottomOut[r0 + s], 0, row, 0, dim);
            for (int p = 0; p < pairs; p++) {
                row[dim + p] = z[p][s];
            }
        }
    }

    private void backwardRows(int c, int r0, int m) {
        params.clearPartials(c);
        float[][] logits = act[layers - 1];
        float invBatch = 1f / batch;
        float[][] cur = gradA;
        float[][] next = gradB;
        for (int r = r0; r < r0 + m; r++) {
            cur[r][0] = (float) (LogLoss.probability(logits[r][0]) - labels[r]) * invBatch;
        }
        for (int l = layers - 1; l >= 0; l--) {
            int in = config.inputWidth(l);
            int out = config.outputWidth(l);
            if (config.relu(l)) {
                Gemm.reluBackward(act[l], cur, r0, m, out);
            }
            Gemm.accumulateWeightGradient(cur, input(l), params.partialWeights(c, l), r0, m, out, in);
            Gemm.accumulateColumnSums(cur, params.partialBias(c, l), r0, m, out);
            if (l == 0) {
                break;
            }
            Gemm.multiply(cur, params.weights(l), null, next, r0, m, out, in);
            float[][] t = cur;
            cur = next;
            next = t;
            if (l == bottomLayers) {
                interactionBackward(c, r0, m, cur);
            }
        }
    }

    /** Turns the top input's gradient rows (in {@code g}) into the bottom output's, in place, and the embeddings'. */
    private void interactionBackward(int c, int r0, int m, float[][] g) {
        float[][] v = vectorScratch[c];
        float[][] dv = vectorGradScratch[c];
        float[][] dz = dotScratch[c];
        int pairs = dz.length;
        for (int s = 0; s < m; s++) {
            float[] row = g[r0 + s];
            for (int p = 0; p < pairs; p++) {
                dz[p][s] = row[dim + p];
            }
        }
        DotInteraction.backward(v, dz, dv, vectors, dim, m);
        for (int s = 0; s < m; s++) {
            float[] row = g[r0 + s];
            for (int d = 0; d < dim; d++) {
                row[d] += dv[d][s];
            }
        }
        for (int t = 0; t < vectors - 1; t++) {
            for (int s = 0; s < m; s++) {
                int e = (t * maxBatch + r0 + s) * dim;
                for (int d = 0; d < dim; d++) {
                    embGrad[e + d] = dv[(t + 1) * dim + d][s];
                }
            }
        }
    }

    private void reduceBlock(int b) {
        params.reduce(b, usedChunks);
    }

    private void updateBlock(int b) {
        params.update(b);
    }

    @Override
    public void getPredictions(float[] dst, int offset, int batch) {
        checkBatch(batch);
        checkArray("predictions", -1, dst, offset, batch);
        System.arraycopy(probabilities, 0, dst, offset, batch);
    }

    @Override
    public void getEmbeddingGradient(int table, float[] dst, int offset, int batch) {
        checkTable(table);
        checkBatch(batch);
        checkArray("embedding gradient of table ", table, dst, offset, batch * dim);
        System.arraycopy(embGrad, table * maxBatch * dim, dst, offset, batch * dim);
    }

    @Override
    public void getParameterGradient(float[] dst) {
        params.copyGradient(dst);
    }

    @Override
    public void setLearningRate(float learningRate) {
        params.setLearningRate(learningRate);
    }

    @Override
    public ModelState saveState() {
        return params.save();
    }

    @Override
    public void restoreState(ModelState s) {
        params.load(s);
        gradientReady = false;
    }

    @Override
    public void close() {
        runner.close();
    }

    private void checkBatch(int batch) {
        DenseArgs.checkBatch(batch, maxBatch);
    }

    private static void checkArray(String what, int table, float[] array, int offset, int floats) {
        DenseArgs.checkArray(what, table, array, offset, floats);
    }

    private void checkTable(int table) {
        DenseArgs.checkTable(table, config.tables());
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

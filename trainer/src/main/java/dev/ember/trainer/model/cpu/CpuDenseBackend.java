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
 *  w[l]       [out(l)][in(l)], bias[l] [out(l)]   as PyTorch's nn.Linear; wT[l] [in(l)][out(l)]
 *             its transpose, refreshed after each update (the forward pass reads it)
 *  partialW   [chunks][l][out][in], partialB [chunks][l][out]   each chunk's weight gradient
 *  gradW, gradBias: their sum in chunk order; stateW, stateBias: Adagrad accumulators (SGD: none)
 * The host blobs and {@link #getParameterGradient} use the flat {@link ParameterLayout}.
 * </pre>
 */
public final class CpuDenseBackend implements DenseBackend {
    /** Chunks the batch is cut into: enough for 16 threads. */
    public static final int DEFAULT_CHUNKS = 16;
    /** Weights updated by one task. */
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

    private final float[][][] w;
    private final float[][] bias;
    private final float[][][] wT;
    private final float[][][][] partialW;
    private final float[][][] partialB;
    private final float[][][] gradW;
    private final float[][] gradBias;
    private final float[][][] stateW;
    private final float[][] stateBias;
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
        gradBias = biasShaped();
        stateW = optimizer.hasState() ? weightShaped() : null;
        stateBias = optimizer.hasState() ? biasShaped() : null;

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
            int out = config.outputWidth(l);
            Gemm.multiply(input(l), wT[l], bias[l], act[l], r0, m, config.inputWidth(l), out);
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
        float[][][] pw = partialW[c];
        float[][] pb = partialB[c];
        for (int l = 0; l < layers; l++) {
            for (float[] row : pw[l]) {
                Arrays.fill(row, 0f);
            }
            Arrays.fill(pb[l], 0f);
        }
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
            Gemm.accumulateWeightGradient(cur, input(l), pw[l], r0, m, out, in);
            Gemm.accumulateColumnSums(cur, pb[l], r0, m, out);
            if (l == 0) {
                break;
            }
            Gemm.multiply(cur, w[l], null, next, r0, m, out, in);
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

    /** Sums the chunk partials of one parameter block into the gradient, in chunk order. */
    private void reduceBlock(int b) {
        int l = blockLayer[b];
        int in = config.inputWidth(l);
        for (int o = blockRow0[b]; o < blockRow1[b]; o++) {
            float[] g = gradW[l][o];
            System.arraycopy(partialW[0][l][o], 0, g, 0, in);
            for (int c = 1; c < usedChunks; c++) {
                float[] p = partialW[c][l][o];
                for (int i = 0; i < in; i++) {
                    g[i] += p[i];
                }
            }
            float s = partialB[0][l][o];
            for (int c = 1; c < usedChunks; c++) {
                s += partialB[c][l][o];
            }
            gradBias[l][o] = s;
        }
    }

    /** Applies the optimizer to one parameter block and refreshes its column of {@code wT}. */
    private void updateBlock(int b) {
        int l = blockLayer[b];
        float lr = learningRate;
        float[][] t = wT[l];
        for (int o = blockRow0[b]; o < blockRow1[b]; o++) {
            float[] row = w[l][o];
            if (optimizer == DenseOptimizer.SGD) {
                sgd(row, gradW[l][o], lr);
                bias[l][o] -= lr * gradBias[l][o];
            } else {
                adagrad(row, gradW[l][o], stateW[l][o], lr, epsilon);
                float g = gradBias[l][o];
                float a = stateBias[l][o] + g * g;
                stateBias[l][o] = a;
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
        if (dst.length != layout.size()) {
            throw new IllegalArgumentException("parameter gradient needs " + layout.size() + " floats, got " + dst.length);
        }
        flatten(gradW, gradBias, dst);
    }

    @Override
    public void setLearningRate(float learningRate) {
        OptimizerSettings.checkLearningRate(learningRate);
        this.learningRate = learningRate;
    }

    @Override
    public ModelState saveState() {
        float[] params = new float[layout.size()];
        flatten(w, bias, params);
        float[] state = new float[optimizer.hasState() ? layout.size() : 0];
        if (optimizer.hasState()) {
            flatten(stateW, stateBias, state);
        }
        return new ModelState(config, new OptimizerSettings(optimizer, learningRate, epsilon), updates, params, state);
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
        unflatten(s.parameters(), w, bias);
        if (optimizer.hasState()) {
            unflatten(s.optimizerState(), stateW, stateBias);
        }
        learningRate = s.optimizer().learningRate();
        updates = s.updates();
        gradientReady = false;
        for (int l = 0; l < layers; l++) {
            for (int o = 0; o < config.outputWidth(l); o++) {
                for (int i = 0; i < config.inputWidth(l); i++) {
                    wT[l][i][o] = w[l][o][i];
                }
            }
        }
    }

    /** Copies per-layer rows into the flat {@link ParameterLayout}. */
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

    /** Checks that {@code floats} fit {@code array} from {@code offset}; the message (with {@code table} if not -1) is built only on failure. */
    private static void checkArray(String what, int table, float[] array, int offset, int floats) {
        if (offset < 0 || (long) offset + floats > array.length) {
            throw new IllegalArgumentException(what + (table < 0 ? "" : table) + ": " + floats + " floats from offset " + offset
                    + " do not fit an array of " + array.length);
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

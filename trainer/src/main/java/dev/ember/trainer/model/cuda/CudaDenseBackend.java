package dev.ember.trainer.model.cuda;

import dev.ember.gpu.device.CudaDevice;
import dev.ember.gpu.device.DeviceBuffer;
import dev.ember.gpu.device.DeviceException;
import dev.ember.gpu.device.Event;
import dev.ember.gpu.device.Kernel;
import dev.ember.gpu.device.PinnedBuffer;
import dev.ember.gpu.device.Stream;
import dev.ember.trainer.model.DenseArgs;
import dev.ember.trainer.model.DenseBackend;
import dev.ember.trainer.model.DenseOptimizer;
import dev.ember.trainer.model.ModelConfig;
import dev.ember.trainer.model.ModelState;
import dev.ember.trainer.model.OptimizerSettings;
import dev.ember.trainer.model.ParameterLayout;
import dev.ember.trainer.model.StepLoss;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * The DLRM dense model on an NVIDIA GPU: cuBLAS SGEMMs for the MLP layers and the kernels of
 * {@code dlrm.cu} (bias and ReLU, dot interaction, sigmoid and cross-entropy, bias gradients, SGD and Adagrad) for
 * everything else. Everything runs on the device's default stream: the {@code put} methods fill
 * page-locked staging and the step copies it in asynchronously; a step never waits for the
 * device. The host waits only in {@link StepLoss#mean()}, in the {@code get} methods, in
 * {@link #saveState()}/{@link #restoreState}, and when a {@code put} would overwrite staging
 * whose copy to the device has not yet run (two steps back: staging is double-buffered).
 *
 * <p>With graphs on, a batch size's second {@link #forward}, {@link #forwardBackward} or
 * {@link #step} is captured into a CUDA graph (the first runs eagerly, so cuBLAS and the kernels
 * are loaded before capture) and every later one replays it with one launch; at most
 * {@link #MAX_GRAPHS} sizes per kind are kept, others run eagerly. The learning rate lives in
 * device memory so replays see changes.
 *
 * <pre>
 * Host arrays and device buffers are row-major; cuBLAS is column-major, so it sees every buffer
 * as its transpose and each product is written for the transposes:
 *   buffer (row-major)            cuBLAS sees (column-major)
 *   X   [batch][in]   ld in        X^T  in x batch
 *   W_l [out][in]     ld in        W^T  in x out          (ParameterLayout: nn.Linear.weight)
 *   Y   [batch][out]  ld out       Y^T  out x batch
 *   forward     Y  = X W^T     as  Y^T  = W   X^T   sgemm(T, N, m=out, n=batch, k=in)
 *   input grad  dX = dY W      as  dX^T = W^T dY^T  sgemm(N, N, m=in,  n=batch, k=out)
 *   weight grad dW = dY^T X    as  dW^T = X^T dY    sgemm(N, T, m=in,  n=out,   k=batch), split over
 *                                                   chunks of batch rows when it has few output tiles
 *   bias grad   db = column sums of dY              dlrm.cu, two passes (chunks of 64 rows, then chunks)
 *
 * device buffers (B = maxBatch, L layers, n = tables + 1, S = widest activation):
 *   dense    [B][bottom0]            labels [B]            prob [B]     loss double [B], sum double [1]
 *   emb      [tables][B][dim]        pooled vectors in: table t, sample r at (t * B + r) * dim
 *   embGrad  [tables][B][dim]        their gradients, same layout
 *   act[l]   [B][out(l)]             layer l after bias and ReLU; act[L-1] the logits
 *   top      [B][dim + n(n-1)/2]     the bottom output, then the pairwise dots (dlrm.cu)
 *   gradA/B  [B][S]                  ping-pong gradients of layer outputs, packed [batch][width]
 *   params, grad, state [P]          the flat ParameterLayout vector (state: Adagrad only)
 *   lr [1], partial: bias-gradient partial sums [ceil(B / 64)][S], or split weight-gradient
 *            partial products [parts][out][in] (used one after the other, never together)
 * pinned staging: in[2] = dense [B][bottom0] | emb [tables][B][dim] | labels [B] (double-buffered);
 *   out [max(P, B)] for gradients, predictions and state; embOut [tables][B][dim]; loss double [1]
 * </pre>
 */
public final class CudaDenseBackend implements DenseBackend {
    /** CUDA graphs kept per kind (forward, forward-backward, step): one per batch size. */
    public static final int MAX_GRAPHS = 16;
    private static final int THREADS = 256;
    private static final int REDUCE_THREADS = 1024;
    /** Rows summed by one thread in the first pass of a bias gradient. */
    private static final int CHUNK_ROWS = 64;
    /** Output tiles a split weight gradient aims at: two per SM of an H100/H200. */
    private static final int TARGET_TILES = 264;
    /** The shortest chunk of batch rows a split weight gradient sums in one product. */
    private static final int MIN_SPLIT_ROWS = 128;
    private static final String SOURCE = "dlrm.cu";
    private static final int FORWARD = 0;
    private static final int FORWARD_BACKWARD = 1;
    private static final int STEP = 2;
    private static final int UPDATE = 3;

    private final CudaDevice device;
    private final Stream stream;
    private final cublasContext blas;
    private final GemmMath math;
    private final boolean useGraphs;
    private final ModelConfig config;
    private final ParameterLayout layout;
    private final int maxBatch;
    private final int layers;
    private final int bottomLayers;
    private final int tables;
    private final int dim;
    private final int denseWidth;
    private final int topWidth;
    private final int parameters;
    private final DenseOptimizer optimizer;
    private final float epsilon;

    private final DeviceBuffer dDense;
    private final DeviceBuffer dEmb;
    private final DeviceBuffer dEmbGrad;
    private final DeviceBuffer dLabels;
    private final DeviceBuffer dTop;
    private final DeviceBuffer[] dAct;
    private final DeviceBuffer[] dGrad2;
    private final DeviceBuffer dProb;
    private final DeviceBuffer dLoss;
    private final DeviceBuffer dLossSum;
    private final DeviceBuffer dParams;
    private final DeviceBuffer dGrad;
    private final DeviceBuffer dState;
    private final DeviceBuffer dLr;
    private final DeviceBuffer dPartial;
    private final DeviceFloats pPartial;
    private final DeviceFloats restA = new DeviceFloats(0);
    private final DeviceFloats restB = new DeviceFloats(0);
    private final DeviceFloats restC = new DeviceFloats(0);

    /** Per layer: device addresses and cuBLAS operands, fixed at construction. */
    private final long[] actAddr;
    private final long[] biasAddr;
    private final long[] gradAddr;
    private final long[] gradBiasAddr;
    private final long[] nextAddr;
    private final DeviceFloats[] pWeight;
    private final DeviceFloats[] pInput;
    private final DeviceFloats[] pAct;
    private final DeviceFloats[] pGradW;
    private final DeviceFloats[] pGrad;
    private final DeviceFloats[] pNext;
    private final FloatPointer one = new FloatPointer(1f);
    private final FloatPointer zero = new FloatPointer(0f);

    private final Kernel biasRelu;
    private final Kernel reluBackward;
    private final Kernel interactionForward;
    private final Kernel interactionBackward;
    private final Kernel lossKernel;
    private final Kernel lossSum;
    private final Kernel columnPartials;
    private final Kernel columnTotal;
    private final Kernel sumPartials;
    private final Kernel sgd;
    private final Kernel adagrad;

    private final PinnedBuffer[] in = new PinnedBuffer[2];
    private final FloatBuffer[] inView = new FloatBuffer[2];
    private final Event[] inCopied = new Event[2];
    private final boolean[] inPending = new boolean[2];
    private final int[] denseRows = new int[2];
    private final int[] labelRows = new int[2];
    private final int[][] embRows;
    private final int embOffset;
    private final int labelOffset;
    private int fill;
    private final PinnedBuffer out;
    private final FloatBuffer outView;
    private final PinnedBuffer embOut;
    private final FloatBuffer embOutView;
    private final PinnedBuffer lossHost;
    private final ByteBuffer lossView;
    private final Event lossReady;
    private final Loss loss = new Loss();

    private final CudaDevice.CudaGraph[][] graphTable = new CudaDevice.CudaGraph[4][];
    private final boolean[][] seen = new boolean[4][];
    private final int[] graphCount = new int[4];

    private float learningRate;
    private long updates;
    private boolean gradientReady;
    private int lastBatch;
    private int embGradRowsOnHost;
    private boolean closed;

    /** Plain fp32 GEMMs, CUDA graphs on. */
    public CudaDenseBackend(CudaDevice device, ModelState initial, int maxBatch) {
        this(device, initial, maxBatch, GemmMath.FP32, true);
    }

    /**
     * @param device   the GPU; the backend uses its default stream and cuBLAS handle and does not close it
     * @param initial  weights, optimizer and its state to start from (copied)
     * @param maxBatch the most samples one step takes
     * @param math     fp32 (default) or TF32 GEMMs
     * @param graphs   whether repeated steps of one batch size replay a CUDA graph
     */
    public CudaDenseBackend(CudaDevice device, ModelState initial, int maxBatch, GemmMath math, boolean graphs) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be at least 1, got " + maxBatch);
        }
        if (math == null) {
            throw new IllegalArgumentException("GEMM math is missing; choose FP32, FP32_PEDANTIC or TF32");
        }
        this.device = device;
        this.stream = device.defaultStream();
        this.blas = device.cublas();
        this.math = math;
        this.useGraphs = graphs;
        config = initial.config();
        layout = new ParameterLayout(config);
        this.maxBatch = maxBatch;
        layers = config.layers();
        bottomLayers = config.bottomLayers();
        tables = config.tables();
        dim = config.dim();
        denseWidth = config.denseFeatures();
        topWidth = config.topInput();
        parameters = layout.size();
        optimizer = initial.optimizer().kind();
        epsilon = initial.optimizer().epsilon();
        long embFloats = (long) tables * maxBatch * dim;
        if ((long) maxBatch * denseWidth + embFloats + maxBatch > Integer.MAX_VALUE / 4) {
            throw new IllegalArgumentException("maxBatch " + maxBatch + " x " + tables + " tables x dim " + dim
                    + " floats do not fit one staging buffer; lower maxBatch");
        }

        int widest = Math.max(config.maxWidth(), topWidth);
        dDense = floats((long) maxBatch * denseWidth);
        dEmb = floats(embFloats);
        dEmbGrad = floats(embFloats);
        dLabels = floats(maxBatch);
        dTop = floats((long) maxBatch * topWidth);
        dAct = new DeviceBuffer[layers];
        for (int l = 0; l < layers; l++) {
            dAct[l] = floats((long) maxBatch * config.outputWidth(l));
        }
        dGrad2 = new DeviceBuffer[] {floats((long) maxBatch * widest), floats((long) maxBatch * widest)};
        dProb = floats(maxBatch);
        dLoss = device.allocate(8L * maxBatch);
        dLossSum = device.allocate(8);
        dParams = floats(parameters);
        dGrad = floats(parameters);
        dState = optimizer.hasState() ? floats(parameters) : null;
        dLr = floats(1);
        long partialFloats = (long) ((maxBatch + CHUNK_ROWS - 1) / CHUNK_ROWS) * widest;
        for (int l = 0; l < config.layers(); l++) {
            long in = config.inputWidth(l);
            long outW = config.outputWidth(l);
            // Any batch up to maxBatch splits into at most min(ceil(maxBatch / MIN_SPLIT_ROWS), wanted) parts.
            if (splitRows(maxBatch, (int) in, (int) outW) > 0) {
                int tiles = (int) (((in + 127) / 128) * ((outW + 127) / 128));
                long parts = Math.min((maxBatch + MIN_SPLIT_ROWS - 1) / MIN_SPLIT_ROWS, (TARGET_TILES + tiles - 1) / tiles + 1);
                partialFloats = Math.max(partialFloats, parts * in * outW);
            }
        }
        dPartial = floats(partialFloats);
        pPartial = new DeviceFloats(device.address(dPartial));

        actAddr = new long[layers];
        biasAddr = new long[layers];
        gradAddr = new long[layers];
        gradBiasAddr = new long[layers];
        nextAddr = new long[layers];
        pWeight = new DeviceFloats[layers];
        pInput = new DeviceFloats[layers];
        pAct = new DeviceFloats[layers];
        pGradW = new DeviceFloats[layers];
        pGrad = new DeviceFloats[layers];
        pNext = new DeviceFloats[layers];
        long params = device.address(dParams);
        long grad = device.address(dGrad);
        int[] gradBuffer = new int[layers];
        gradBuffer[layers - 1] = 0; // the loss kernel writes the logit gradient into gradA
        for (int l = layers - 1; l >= 0; l--) {
            actAddr[l] = device.address(dAct[l]);
            biasAddr[l] = params + 4L * layout.biasOffset(l);
            pWeight[l] = new DeviceFloats(params + 4L * layout.weightOffset(l));
            pGradW[l] = new DeviceFloats(grad + 4L * layout.weightOffset(l));
            gradBiasAddr[l] = grad + 4L * layout.biasOffset(l);
            pAct[l] = new DeviceFloats(actAddr[l]);
            long input = l == 0 ? device.address(dDense) : l == bottomLayers ? device.address(dTop) : 0;
            pInput[l] = input != 0 ? new DeviceFloats(input) : null;
            gradAddr[l] = device.address(dGrad2[gradBuffer[l]]);
            nextAddr[l] = device.address(dGrad2[1 - gradBuffer[l]]);
            pGrad[l] = new DeviceFloats(gradAddr[l]);
            pNext[l] = new DeviceFloats(nextAddr[l]);
            if (l > 0) {
                // Below the interaction the bottom output's gradient goes back into this layer's buffer.
                gradBuffer[l - 1] = l == bottomLayers ? gradBuffer[l] : 1 - gradBuffer[l];
            }
        }
        for (int l = 1; l < layers; l++) {
            if (pInput[l] == null) {
                pInput[l] = pAct[l - 1];
            }
        }

        biasRelu = device.kernel(SOURCE, "dlrm_bias_relu");
        reluBackward = device.kernel(SOURCE, "dlrm_relu_backward");
        interactionForward = device.kernel(SOURCE, "dlrm_interaction_forward");
        interactionBackward = device.kernel(SOURCE, "dlrm_interaction_backward");
        lossKernel = device.kernel(SOURCE, "dlrm_loss");
        lossSum = device.kernel(SOURCE, "dlrm_loss_sum");
        columnPartials = device.kernel(SOURCE, "dlrm_column_partials");
        columnTotal = device.kernel(SOURCE, "dlrm_column_total");
        sumPartials = device.kernel(SOURCE, "dlrm_sum_partials");
        sgd = device.kernel(SOURCE, "dlrm_sgd");
        adagrad = device.kernel(SOURCE, "dlrm_adagrad");

        embOffset = maxBatch * denseWidth;
        labelOffset = (int) (embOffset + embFloats);
        embRows = new int[2][tables];
        for (int k = 0; k < 2; k++) {
            in[k] = device.allocatePinned(4L * (labelOffset + maxBatch));
            inView[k] = in[k].buffer().asFloatBuffer();
            inCopied[k] = device.newEvent();
        }
        out = device.allocatePinned(4L * Math.max(parameters, maxBatch));
        outView = out.buffer().asFloatBuffer();
        embOut = device.allocatePinned(4L * embFloats);
        embOutView = embOut.buffer().asFloatBuffer();
        lossHost = device.allocatePinned(8);
        lossView = lossHost.buffer();
        lossReady = device.newEvent();
        for (int k = 0; k < 4; k++) {
            graphTable[k] = new CudaDevice.CudaGraph[maxBatch + 1];
            seen[k] = new boolean[maxBatch + 1];
        }
        restoreState(initial);
    }

    private DeviceBuffer floats(long count) {
        return device.allocate(4L * count);
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public int maxBatch() {
        return maxBatch;
    }

    public GemmMath math() {
        return math;
    }

    public CudaDevice device() {
        return device;
    }

    /** The stream every copy, kernel and GEMM of this backend runs on (the device's default stream). */
    public Stream stream() {
        return stream;
    }

    /**
     * The pooled-embedding input on the device, {@code [tables][maxBatch][dim]} floats (table
     * {@code t}, sample {@code r} at {@code (t * maxBatch + r) * dim}), for a hot tier that gathers
     * straight into it on {@link #stream()} instead of calling {@link #putEmbedding}.
     */
    public DeviceBuffer embeddingInput() {
        return dEmb;
    }

    /** The pooled-embedding gradients on the device after {@link #forwardBackward}, laid out as {@link #embeddingInput()}. */
    public DeviceBuffer embeddingGradientOutput() {
        return dEmbGrad;
    }

    /** Waits until everything queued so far has run. */
    public void synchronize() {
        stream.synchronize();
    }

    // ---------------------------------------------------------------- batch in

    @Override
    public void putDense(float[] src, int offset, int batch) {
        checkBatch(batch);
        checkArray("dense features", -1, src, offset, batch * denseWidth);
        fillSlot().put(0, src, offset, batch * denseWidth);
        denseRows[fill] = batch;
    }

    @Override
    public void putEmbedding(int table, float[] src, int offset, int batch) {
        checkTable(table);
        checkBatch(batch);
        checkArray("pooled embeddings of table ", table, src, offset, batch * dim);
        fillSlot().put(embOffset + table * maxBatch * dim, src, offset, batch * dim);
        embRows[fill][table] = batch;
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
        fillSlot().put(labelOffset, src, offset, batch);
        labelRows[fill] = batch;
    }

    /** The staging slot being filled, once the device has copied out what it held two steps ago. */
    private FloatBuffer fillSlot() {
        int k = fill;
        if (inPending[k]) {
            inCopied[k].synchronize();
            inPending[k] = false;
        }
        return inView[k];
    }

    /** Queues the copies of what was put since the last step and switches staging slots. */
    private void submitInputs() {
        int k = fill;
        boolean any = false;
        if (denseRows[k] > 0) {
            device.copyToDevice(in[k], 0, dDense, 0, 4L * denseRows[k] * denseWidth, stream);
            denseRows[k] = 0;
            any = true;
        }
        int[] rows = embRows[k];
        boolean whole = true;
        for (int t = 0; t < tables; t++) {
            whole &= rows[t] == maxBatch;
        }
        if (whole) {
            device.copyToDevice(in[k], 4L * embOffset, dEmb, 0, 4L * tables * maxBatch * dim, stream);
        }
        for (int t = 0; t < tables; t++) {
            if (rows[t] > 0) {
                if (!whole) {
                    long at = 4L * t * maxBatch * dim;
                    device.copyToDevice(in[k], 4L * embOffset + at, dEmb, at, 4L * rows[t] * dim, stream);
                }
                rows[t] = 0;
                any = true;
            }
        }
        if (labelRows[k] > 0) {
            device.copyToDevice(in[k], 4L * labelOffset, dLabels, 0, 4L * labelRows[k], stream);
            labelRows[k] = 0;
            any = true;
        }
        if (any) {
            inCopied[k].record(stream);
            inPending[k] = true;
            fill = 1 - k;
        }
    }

    // ---------------------------------------------------------------- steps

    @Override
    public StepLoss forward(int batch) {
        checkBatch(batch);
        submitInputs();
        gradientReady = false;
        run(FORWARD, batch);
        return lossQueued(batch);
    }

    @Override
    public StepLoss forwardBackward(int batch) {
        checkBatch(batch);
        submitInputs();
        run(FORWARD_BACKWARD, batch);
        gradientReady = true;
        gradientsQueued(batch);
        return lossQueued(batch);
    }

    @Override
    public void update() {
        if (!gradientReady) {
            throw new IllegalStateException("update() needs the gradients of a forwardBackward() that was not yet applied");
        }
        gradientReady = false;
        run(UPDATE, 0);
        updates++;
    }

    /** Forward, backward and update in one launch (one CUDA graph once the batch size repeats). */
    @Override
    public StepLoss step(int batch) {
        checkBatch(batch);
        submitInputs();
        run(STEP, batch);
        gradientReady = false;
        updates++;
        gradientsQueued(batch);
        return lossQueued(batch);
    }

    private StepLoss lossQueued(int batch) {
        lossReady.record(stream);
        return loss.reset(batch);
    }

    private void gradientsQueued(int batch) {
        lastBatch = batch;
        embGradRowsOnHost = 0;
    }

    /** Runs one kind of work for {@code batch} samples: replays its graph, captures one, or queues it eagerly. */
    private void run(int kind, int batch) {
        if (!useGraphs) {
            enqueue(kind, batch);
            return;
        }
        CudaDevice.CudaGraph g = graphTable[kind][batch];
        if (g == null) {
            if (!seen[kind][batch] || graphCount[kind] >= MAX_GRAPHS) {
                seen[kind][batch] = true;
                enqueue(kind, batch);
                return;
            }
            g = device.capture(stream, () -> enqueue(kind, batch));
            graphTable[kind][batch] = g;
            graphCount[kind]++;
        }
        g.launch(stream);
    }

    private void enqueue(int kind, int batch) {
        blasCheck(cublas.cublasSetMathMode(blas, math.cublasMode()), "cublasSetMathMode");
        if (kind != UPDATE) {
            forwardPass(batch, kind != FORWARD);
        }
        if (kind == FORWARD_BACKWARD || kind == STEP) {
            backwardPass(batch);
        }
        if (kind == STEP || kind == UPDATE) {
            applyOptimizer();
        }
    }

    private void forwardPass(int batch, boolean withGradient) {
        for (int l = 0; l < layers; l++) {
            if (l == bottomLayers) {
                interactionForward.arg(0, actAddr[bottomLayers - 1]).arg(1, dEmb).arg(2, dTop).arg(3, batch)
                        .arg(4, maxBatch).arg(5, tables).arg(6, dim);
                launch(interactionForward, (long) batch * topWidth);
            }
            int inW = config.inputWidth(l);
            int outW = config.outputWidth(l);
            gemm(cublas.CUBLAS_OP_T, cublas.CUBLAS_OP_N, outW, batch, inW, pWeight[l], inW, pInput[l], inW, pAct[l], outW);
            biasRelu.arg(0, actAddr[l]).arg(1, biasAddr[l]).arg(2, batch).arg(3, outW).arg(4, config.relu(l) ? 1 : 0);
            launch(biasRelu, (long) batch * outW);
        }
        lossKernel.arg(0, actAddr[layers - 1]).arg(1, dLabels).arg(2, dProb).arg(3, dLoss).arg(4, gradAddr[layers - 1])
                .arg(5, batch).arg(6, 1f / batch).arg(7, withGradient ? 1 : 0);
        launch(lossKernel, batch);
        lossSum.arg(0, dLoss).arg(1, dLossSum).arg(2, batch);
        lossSum.launch(stream, 1, REDUCE_THREADS);
        device.copyToHost(dLossSum, 0, lossHost, 0, 8, stream);
    }

    private void backwardPass(int batch) {
        for (int l = layers - 1; l >= 0; l--) {
            int inW = config.inputWidth(l);
            int outW = config.outputWidth(l);
            if (config.relu(l)) {
                reluBackward.arg(0, gradAddr[l]).arg(1, actAddr[l]).arg(2, (long) batch * outW);
                launch(reluBackward, (long) batch * outW);
            }
            weightGradient(l, batch, inW, outW);
            int chunks = (batch + CHUNK_ROWS - 1) / CHUNK_ROWS;
            columnPartials.arg(0, gradAddr[l]).arg(1, dPartial).arg(2, batch).arg(3, outW).arg(4, CHUNK_ROWS);
            launch(columnPartials, (long) chunks * outW);
            columnTotal.arg(0, dPartial).arg(1, gradBiasAddr[l]).arg(2, chunks).arg(3, outW);
            launch(columnTotal, outW);
            if (l == 0) {
                break;
            }
            gemm(cublas.CUBLAS_OP_N, cublas.CUBLAS_OP_N, inW, batch, outW, pWeight[l], inW, pGrad[l], outW, pNext[l], inW);
            if (l == bottomLayers) {
                interactionBackward.arg(0, actAddr[bottomLayers - 1]).arg(1, dEmb).arg(2, nextAddr[l]).arg(3, gradAddr[l])
                        .arg(4, dEmbGrad).arg(5, batch).arg(6, maxBatch).arg(7, tables).arg(8, dim);
                launch(interactionBackward, (long) batch * (tables + 1) * dim);
            }
        }
    }

    /**
     * {@code dW^T = X^T dY} over the batch. A product with few output tiles and a long batch
     * dimension keeps most SMs idle, so the batch is cut into chunks of {@link #splitRows} rows:
     * one strided-batched SGEMM writes a partial product per chunk (the last, shorter chunk by a
     * plain SGEMM) and {@code dlrm_sum_partials} adds them in chunk order.
     */
    private void weightGradient(int l, int batch, int inW, int outW) {
        int rows = splitRows(batch, inW, outW);
        if (rows == 0) {
            gemm(cublas.CUBLAS_OP_N, cublas.CUBLAS_OP_T, inW, outW, batch, pInput[l], inW, pGrad[l], outW, pGradW[l], inW);
            return;
        }
        int full = batch / rows;
        int rest = batch - full * rows;
        long size = (long) inW * outW;
        blasCheck(cublas.cublasSgemmStridedBatched(blas, cublas.CUBLAS_OP_N, cublas.CUBLAS_OP_T, inW, outW, rows, one,
                pInput[l], inW, (long) rows * inW, pGrad[l], outW, (long) rows * outW, zero, pPartial, inW, size, full),
                "cublasSgemmStridedBatched (weight gradient)");
        if (rest > 0) {
            long at = (long) full * rows;
            gemm(cublas.CUBLAS_OP_N, cublas.CUBLAS_OP_T, inW, outW, rest, restA.at(pInput[l].address() + 4 * at * inW), inW,
                    restB.at(gradAddr[l] + 4 * at * outW), outW, restC.at(device.address(dPartial) + 4 * full * size), inW);
        }
        sumPartials.arg(0, dPartial).arg(1, pGradW[l].address()).arg(2, size).arg(3, full + (rest > 0 ? 1 : 0));
        launch(sumPartials, size);
    }

    /**
     * Rows per chunk of a split weight gradient, or 0 to run it as one product: enough chunks that
     * the product has about {@link #TARGET_TILES} 128 x 128 output tiles in all, each chunk at least
     * {@link #MIN_SPLIT_ROWS} rows (a multiple of 32).
     */
    static int splitRows(int batch, int inW, int outW) {
        int tiles = ((inW + 127) / 128) * ((outW + 127) / 128);
        int wanted = (TARGET_TILES + tiles - 1) / tiles;
        if (wanted <= 1 || batch < 2 * MIN_SPLIT_ROWS) {
            return 0;
        }
        int rows = Math.max(MIN_SPLIT_ROWS, ((batch + wanted - 1) / wanted + 31) / 32 * 32);
        return rows >= batch ? 0 : rows;
    }

    private void applyOptimizer() {
        if (optimizer == DenseOptimizer.SGD) {
            sgd.arg(0, dParams).arg(1, dGrad).arg(2, dLr).arg(3, (long) parameters);
            launch(sgd, parameters);
        } else {
            adagrad.arg(0, dParams).arg(1, dGrad).arg(2, dState).arg(3, dLr).arg(4, epsilon).arg(5, (long) parameters);
            launch(adagrad, parameters);
        }
    }

    private void gemm(int opA, int opB, int m, int n, int k, FloatPointer a, int lda, FloatPointer b, int ldb,
                      FloatPointer c, int ldc) {
        blasCheck(cublas.cublasSgemm_v2(blas, opA, opB, m, n, k, one, a, lda, b, ldb, zero, c, ldc), "cublasSgemm");
    }

    private void launch(Kernel k, long threads) {
        k.launch(stream, (int) ((threads + THREADS - 1) / THREADS), THREADS);
    }

    // ---------------------------------------------------------------- results out

    @Override
    public void getPredictions(float[] dst, int offset, int batch) {
        checkBatch(batch);
        checkArray("predictions", -1, dst, offset, batch);
        device.copyToHost(dProb, 0, out, 0, 4L * batch, stream);
        stream.synchronize();
        outView.get(0, dst, offset, batch);
    }

    @Override
    public void getEmbeddingGradient(int table, float[] dst, int offset, int batch) {
        checkTable(table);
        checkBatch(batch);
        checkArray("embedding gradient of table ", table, dst, offset, batch * dim);
        if (embGradRowsOnHost < batch) {
            // One transfer of every table's rows serves the following calls of this step.
            int rows = Math.max(batch, lastBatch);
            if (rows == maxBatch) {
                device.copyToHost(dEmbGrad, 0, embOut, 0, 4L * tables * maxBatch * dim, stream);
            } else {
                for (int t = 0; t < tables; t++) {
                    long at = 4L * t * maxBatch * dim;
                    device.copyToHost(dEmbGrad, at, embOut, at, 4L * rows * dim, stream);
                }
            }
            stream.synchronize();
            embGradRowsOnHost = rows;
        }
        embOutView.get(table * maxBatch * dim, dst, offset, batch * dim);
    }

    @Override
    public void getParameterGradient(float[] dst) {
        if (dst.length != parameters) {
            throw new IllegalArgumentException("parameter gradient needs " + parameters + " floats, got " + dst.length);
        }
        readDevice(dGrad, dst);
    }

    @Override
    public void setLearningRate(float learningRate) {
        OptimizerSettings.checkLearningRate(learningRate);
        this.learningRate = learningRate;
        // By value: no host memory the copy could read after it changes.
        check(cudart.cuMemsetD32Async(device.address(dLr), Float.floatToRawIntBits(learningRate), 1, device.raw(stream)),
                "cuMemsetD32Async(learning rate)");
    }

    @Override
    public ModelState saveState() {
        float[] params = new float[parameters];
        readDevice(dParams, params);
        float[] state = new float[optimizer.hasState() ? parameters : 0];
        if (optimizer.hasState()) {
            readDevice(dState, state);
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
        writeDevice(s.parameters(), dParams);
        if (optimizer.hasState()) {
            writeDevice(s.optimizerState(), dState);
        }
        setLearningRate(s.optimizer().learningRate());
        updates = s.updates();
        gradientReady = false;
    }

    private void readDevice(DeviceBuffer src, float[] dst) {
        device.copyToHost(src, 0, out, 0, 4L * dst.length, stream);
        stream.synchronize();
        outView.get(0, dst, 0, dst.length);
    }

    private void writeDevice(float[] src, DeviceBuffer dst) {
        stream.synchronize();
        outView.put(0, src, 0, src.length);
        device.copyToDevice(out, 0, dst, 0, 4L * src.length, stream);
        stream.synchronize();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        stream.synchronize();
        for (CudaDevice.CudaGraph[] kind : graphTable) {
            for (CudaDevice.CudaGraph g : kind) {
                if (g != null) {
                    g.close();
                }
            }
        }
        for (DeviceBuffer b : new DeviceBuffer[] {dDense, dEmb, dEmbGrad, dLabels, dTop, dProb, dLoss, dLossSum, dParams,
                dGrad, dState, dLr, dPartial, dGrad2[0], dGrad2[1]}) {
            if (b != null) {
                b.close();
            }
        }
        for (DeviceBuffer b : dAct) {
            b.close();
        }
        for (int k = 0; k < 2; k++) {
            in[k].close();
            inCopied[k].close();
        }
        out.close();
        embOut.close();
        lossHost.close();
        lossReady.close();
        one.close();
        zero.close();
    }

    private void checkBatch(int batch) {
        DenseArgs.checkBatch(batch, maxBatch);
    }

    private static void checkArray(String what, int table, float[] array, int offset, int floats) {
        DenseArgs.checkArray(what, table, array, offset, floats);
    }

    private void checkTable(int table) {
        DenseArgs.checkTable(table, tables);
    }

    private static void check(int rc, String call) {
        if (rc != cudart.CUDA_SUCCESS) {
            throw new DeviceException("CUDA " + call + " failed with error " + rc);
        }
    }

    private static void blasCheck(int status, String call) {
        if (status != cublas.CUBLAS_STATUS_SUCCESS) {
            throw new DeviceException(call + " failed with cuBLAS status " + status);
        }
    }

    /** The latest forward pass's loss: the device's sum, copied to pinned memory, read when asked. */
    private final class Loss implements StepLoss {
        private int samples;
        private boolean read;
        private double mean;

        StepLoss reset(int batch) {
            samples = batch;
            read = false;
            return this;
        }

        @Override
        public double mean() {
            if (!read) {
                lossReady.synchronize();
                mean = lossView.getDouble(0) / samples;
                read = true;
            }
            return mean;
        }

        @Override
        public int batch() {
            return samples;
        }
    }
}

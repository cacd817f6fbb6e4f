package dev.ember.jmh.model;

import dev.ember.gpu.device.CudaDevice;
import dev.ember.gpu.device.DeviceBuffer;
import dev.ember.gpu.device.DeviceException;
import dev.ember.gpu.device.PinnedBuffer;
import dev.ember.trainer.model.ModelConfig;
import dev.ember.trainer.model.ModelState;
import dev.ember.trainer.model.OptimizerSettings;
import dev.ember.trainer.model.cuda.CudaDenseBackend;
import dev.ember.trainer.model.cuda.GemmMath;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.javacpp.FloatPointer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One DLRM training step of the Kaggle shape (26 tables at Kaggle's cardinalities, dim 16, SGD
 * for embeddings and MLPs) with every embedding row resident on the GPU ({@code device} mode),
 * time per call, each call waiting for the device at its end. The pooled vectors and their
 * gradients never leave the device: {@link DeviceEmbeddings} gathers each table through the hot
 * tier's {@code SlotPool} and copies the result device-to-device into
 * {@link CudaDenseBackend#embeddingInput()}, and copies {@link CudaDenseBackend#embeddingGradientOutput()}
 * into the tier's batch gradients before {@code SlotPool.apply}.
 *
 * <p>The parts, each its own benchmark so each is measured the same way as the whole:
 * <pre>
 *  prepare      host only: 26 PooledBatch fills + DedupedIds builds, the host work a trainer does per batch
 *  gather       26 x (SlotPool.gather: ids to slots and their upload, the pooling kernel; D2D copy into the input)
 *  forward      the dense model's forward (MLPs, interaction, loss)
 *  denseStep    forward + backward + SGD of the MLP weights; backward + update = denseStep - forward
 *  apply        26 x (D2D copy of the table's gradients; SlotPool.apply: uploads and the SGD scatter kernel)
 *  step         the whole step in order: prepare, dense features and labels in, gather, dense step, apply, wait
 *  stepOverlap  the same work, but the next batch's prepare runs on the host while the device computes
 *  sgemm        one fp32 SGEMM of n x n x n: the card's measured GEMM rate, for the arithmetic floor
 * </pre>
 * {@code mode}: {@code eager} launches every dense kernel and GEMM per call, {@code graph}
 * replays the dense part as one CUDA graph; the gather and apply are eager in both (their host
 * work, translating ids to slots, is per batch). The arithmetic floor is 2.87 MFLOP per sample:
 * 2.83 MFLOP of GEMMs (6 x 474,368 multiply-adds' worth for the seven layers' forward, input and
 * weight gradients, less the first layer's input gradient) and 0.03 MFLOP of interaction.
 *
 * <p>Without CUDA every benchmark but {@code prepare} fails its setup with a message starting
 * "SKIPPED:" that names what is missing.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class DeviceStepBenchmark {
    /** Distinct batches cycled through (ids differ, so the rows touched differ from step to step). */
    static final int BATCHES = 16;
    static final long SEED = 42;
    static final float LR = 0.01f;

    /** Host-side batches alone. */
    @State(Scope.Benchmark)
    public static class Host {
        @Param({"2048", "8192"})
        public int batch;

        /** Table sizes as a fraction of Kaggle's (1: 33.8M rows, 2.2 GB of slots at dim 16). */
        @Param({"1.0"})
        public double scale;

        KaggleStepBatches data;
        private int next;

        @Setup(Level.Trial)
        public void setUp() {
            data = new KaggleStepBatches(batch, BATCHES, scale, SEED);
            System.out.println("# " + data.tables() + " tables, batch " + batch + ": " + data.uniqueRows()
                    + " unique rows in batch 0");
        }

        int nextBatch() {
            next = next + 1 == BATCHES ? 0 : next + 1;
            return next;
        }
    }

    /** Embeddings on the device beside a dense model; the dense model's mode does not matter to gather and apply. */
    @State(Scope.Benchmark)
    public static class Embeddings {
        @Param({"2048", "8192"})
        public int batch;

        @Param({"1.0"})
        public double scale;

        Rig rig;

        @Setup(Level.Trial)
        public void setUp() {
            rig = new Rig(batch, scale, GemmMath.FP32, false);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            rig.close();
        }
    }

    /** The whole step and its dense parts, eager or as a CUDA graph. */
    @State(Scope.Benchmark)
    public static class Step {
        @Param({"2048", "8192"})
        public int batch;

        @Param({"1.0"})
        public double scale;

        /** {@code eager}: every dense kernel and GEMM launched per call; {@code graph}: one CUDA graph per dense step. */
        @Param({"eager", "graph"})
        public String mode;

        /** {@code FP32} (default) or {@code TF32} GEMMs. */
        @Param({"FP32"})
        public String math;

        Rig rig;

        @Setup(Level.Trial)
        public void setUp() {
            if (!mode.equals("eager") && !mode.equals("graph")) {
                throw new IllegalArgumentException("mode must be eager or graph, got " + mode);
            }
            rig = new Rig(batch, scale, GemmMath.valueOf(math), mode.equals("graph"));
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            rig.close();
        }
    }

    /** Buffers for one large SGEMM. */
    @State(Scope.Benchmark)
    public static class Gemm {
        @Param({"8192"})
        public int n;

        CudaDevice device;
        private DeviceBuffer a;
        private DeviceBuffer b;
        private DeviceBuffer c;
        FloatPointer pa;
        FloatPointer pb;
        FloatPointer pc;
        final FloatPointer one = new FloatPointer(1f);
        final FloatPointer zero = new FloatPointer(0f);
        cublasContext blas;

        @Setup(Level.Trial)
        public void setUp() {
            device = openCuda();
            long bytes = 4L * n * n;
            a = device.allocate(bytes);
            b = device.allocate(bytes);
            c = device.allocate(bytes);
            // Random operands: the rate of zeros would flatter the card (less switching, higher clocks).
            try (PinnedBuffer stage = device.allocatePinned(bytes)) {
                FloatBuffer f = stage.buffer().asFloatBuffer();
                SplittableRandom rnd = new SplittableRandom(7);
                for (int i = 0; i < n * n; i++) {
                    f.put(i, (float) (rnd.nextDouble() - 0.5));
                }
                device.copyToDevice(stage, 0, a, 0, bytes, device.defaultStream());
                device.copyToDevice(stage, 0, b, 0, bytes, device.defaultStream());
                device.defaultStream().synchronize();
            }
            pa = device.floats(a);
            pb = device.floats(b);
            pc = device.floats(c);
            blas = device.cublas();
            blasCheck(cublas.cublasSetMathMode(blas, cublas.CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
            System.out.println("# SGEMM " + n + "^3 (fp32, CUBLAS_DEFAULT_MATH), " + 2.0 * n * n * n / 1e9
                    + " GFLOP a call, on " + device.name());
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            a.close();
            b.close();
            c.close();
            one.close();
            zero.close();
            device.close();
        }
    }

    // ---------------------------------------------------------------- benchmarks

    @Benchmark
    public int prepare(Host h) {
        h.data.prepare(h.nextBatch());
        return h.data.dedup(0).uniqueCount();
    }

    @Benchmark
    public void gather(Embeddings e) {
        e.rig.embeddings.gather(e.rig.data);
        e.rig.backend.synchronize();
    }

    @Benchmark
    public void apply(Embeddings e) {
        e.rig.embeddings.apply(e.rig.data, LR);
        e.rig.backend.synchronize();
    }

    @Benchmark
    public void forward(Step s) {
        s.rig.backend.forward(s.batch);
        s.rig.backend.synchronize();
    }

    @Benchmark
    public void denseStep(Step s) {
        s.rig.backend.step(s.batch);
        s.rig.backend.synchronize();
    }

    @Benchmark
    public void step(Step s) {
        Rig r = s.rig;
        r.prepareNext();
        r.deviceStep();
        r.backend.synchronize();
    }

    @Benchmark
    public void stepOverlap(Step s) {
        Rig r = s.rig;
        r.deviceStep();
        r.prepareNext();
        r.backend.synchronize();
    }

    @Benchmark
    public void sgemm(Gemm g) {
        int n = g.n;
        blasCheck(cublas.cublasSgemm_v2(g.blas, cublas.CUBLAS_OP_N, cublas.CUBLAS_OP_N, n, n, n, g.one, g.pa, n, g.pb, n,
                g.zero, g.pc, n), "cublasSgemm");
        g.device.defaultStream().synchronize();
    }

    // ---------------------------------------------------------------- the rig

    /** A CUDA device, the Kaggle dense model on it and every embedding row resident beside it. */
    static final class Rig implements AutoCloseable {
        final KaggleStepBatches data;
        final CudaDevice device;
        final CudaDenseBackend backend;
        final DeviceEmbeddings embeddings;
        private final int batch;
        /** The batch {@link #data} holds prepared. */
        private int current;

        Rig(int batch, double scale, GemmMath math, boolean graphs) {
            device = openCuda();
            this.batch = batch;
            CudaDenseBackend b = null;
            DeviceEmbeddings e = null;
            try {
                data = new KaggleStepBatches(batch, BATCHES, scale, SEED);
                ModelConfig config = ModelConfig.kaggle();
                if (config.tables() != data.tables() || config.dim() != KaggleStepBatches.DIM
                        || config.denseFeatures() != KaggleStepBatches.DENSE) {
                    throw new IllegalStateException("ModelConfig.kaggle() is " + config + "; the batches are "
                            + data.tables() + " tables of dim " + KaggleStepBatches.DIM);
                }
                b = new CudaDenseBackend(device, ModelState.initial(config, OptimizerSettings.sgd(LR), SEED), batch, math, graphs);
                e = new DeviceEmbeddings(device, b.stream(), data.specs(), SEED, batch, b.embeddingInput(),
                        b.embeddingGradientOutput());
            } catch (RuntimeException ex) {
                if (b != null) {
                    b.close();
                }
                device.close();
                throw ex;
            }
            backend = b;
            embeddings = e;
            // Three whole steps (the second captures the dense graph) and two forwards (likewise).
            for (int i = 0; i < 3; i++) {
                prepareNext();
                deviceStep();
            }
            backend.forward(batch);
            backend.forward(batch);
            double loss = backend.step(batch).mean();
            System.out.println("# device step on " + device.name() + ": batch " + batch + ", " + math + ", "
                    + (graphs ? "graph" : "eager") + ", " + embeddings.pool().used() + " resident rows, "
                    + data.uniqueRows() + " unique rows in the prepared batch, loss " + loss);
        }

        /** The host work for the next batch. */
        void prepareNext() {
            current = current + 1 == BATCHES ? 0 : current + 1;
            data.prepare(current);
        }

        /** Queues the prepared batch's step: dense features and labels in, gather, dense step, apply. */
        void deviceStep() {
            backend.putDense(data.dense(current), 0, batch);
            backend.putLabels(data.labels(current), 0, batch);
            embeddings.gather(data);
            backend.step(batch);
            embeddings.apply(data, LR);
        }

        @Override
        public void close() {
            embeddings.close();
            backend.close();
            device.close();
        }
    }

    static CudaDevice openCuda() {
        String why = CudaDevice.unavailableReason();
        if (why != null) {
            throw new IllegalStateException("SKIPPED: CUDA is not present here: " + why);
        }
        return CudaDevice.open(0);
    }

    private static void blasCheck(int status, String call) {
        if (status != cublas.CUBLAS_STATUS_SUCCESS) {
            throw new DeviceException(call + " failed with cuBLAS status " + status);
        }
    }
}

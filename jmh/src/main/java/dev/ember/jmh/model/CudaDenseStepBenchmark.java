package dev.ember.jmh.model;

import dev.ember.gpu.device.CudaDevice;
import dev.ember.trainer.model.ModelConfig;
import dev.ember.trainer.model.ModelState;
import dev.ember.trainer.model.OptimizerSettings;
import dev.ember.trainer.model.cuda.CudaDenseBackend;
import dev.ember.trainer.model.cuda.GemmMath;
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

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One DLRM dense training step of the Kaggle shape on CUDA, time per call, each call waiting for
 * the device at its end. The batch (dense features, pooled embeddings, labels) is put once and
 * stays on the device, as when the hot tier gathers embeddings there; {@code stepWithHostCopies}
 * instead moves every input in from the host and every embedding gradient out, as the baseline
 * mode does. The split: {@code forward} (MLPs, interaction, loss), {@code forwardBackward} minus
 * it (backward), {@code step} minus {@code forwardBackward} (apply: the optimizer); {@code step} is
 * all three in one launch sequence (one graph launch in graph mode). The fp32 GEMM floor is about 2.9 MFLOP per sample.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class CudaDenseStepBenchmark {
    @Param({"2048", "8192"})
    public int batch;

    /** {@code eager}: every kernel and GEMM launched per call; {@code graph}: one CUDA graph per call. */
    @Param({"eager", "graph"})
    public String mode;

    /** {@code FP32} (default) or {@code TF32} GEMMs. */
    @Param({"FP32"})
    public String math;

    private CudaDevice device;
    private CudaDenseBackend backend;
    private float[] dense;
    private float[][] emb;
    private float[] labels;
    private float[] embGrad;

    @Setup(Level.Trial)
    public void setUp() {
        String why = CudaDevice.unavailableReason();
        if (why != null) {
            throw new IllegalStateException("SKIPPED: CUDA is not present here: " + why);
        }
        device = CudaDevice.open(0);
        System.out.println("# CUDA dense step on " + device.name());
        ModelConfig config = ModelConfig.kaggle();
        backend = new CudaDenseBackend(device, ModelState.initial(config, OptimizerSettings.sgd(0.01f), 1), batch,
                GemmMath.valueOf(math), mode.equals("graph"));
        SplittableRandom rnd = new SplittableRandom(2);
        dense = new float[batch * config.denseFeatures()];
        for (int i = 0; i < dense.length; i++) {
            dense[i] = (float) Math.log1p(rnd.nextInt(1000));
        }
        emb = new float[config.tables()][batch * config.dim()];
        for (float[] e : emb) {
            for (int i = 0; i < e.length; i++) {
                e[i] = (float) ((rnd.nextDouble() * 2 - 1) * 0.01);
            }
        }
        labels = new float[batch];
        for (int i = 0; i < batch; i++) {
            labels[i] = rnd.nextInt(4) == 0 ? 1f : 0f;
        }
        embGrad = new float[batch * config.dim()];
        putAll();
        backend.step(batch).mean();
    }

    private void putAll() {
        backend.putDense(dense, 0, batch);
        for (int t = 0; t < emb.length; t++) {
            backend.putEmbedding(t, emb[t], 0, batch);
        }
        backend.putLabels(labels, 0, batch);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
        device.close();
    }

    @Benchmark
    public void forward() {
        backend.forward(batch);
        backend.synchronize();
    }

    @Benchmark
    public void forwardBackward() {
        backend.forwardBackward(batch);
        backend.synchronize();
    }

    @Benchmark
    public void step() {
        backend.step(batch);
        backend.synchronize();
    }

    @Benchmark
    public double stepWithHostCopies() {
        putAll();
        double loss = backend.step(batch).mean();
        for (int t = 0; t < emb.length; t++) {
            backend.getEmbeddingGradient(t, embGrad, 0, batch);
        }
        return loss;
    }
}

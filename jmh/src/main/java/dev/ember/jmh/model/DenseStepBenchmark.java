package dev.ember.jmh.model;

import dev.ember.trainer.model.ModelConfig;
import dev.ember.trainer.model.ModelState;
import dev.ember.trainer.model.OptimizerSettings;
import dev.ember.trainer.model.cpu.CpuDenseBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
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
 * One CPU training step of the DLRM dense model (Kaggle shape): copy the batch in, forward,
 * backward, SGD update, copy the embedding gradients out. Random dense features, pooled
 * embedding vectors and labels. Scores are samples per second ({@code batch} operations per
 * invocation).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@OperationsPerInvocation(DenseStepBenchmark.BATCH)
@Warmup(iterations = 3, time = 4)
@Measurement(iterations = 5, time = 4)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class DenseStepBenchmark {
    static final int BATCH = 2048;

    @Param({"1", "2"})
    public int threads;

    private CpuDenseBackend backend;
    private float[] dense;
    private float[][] emb;
    private float[] labels;
    private float[] embGrad;

    @Setup(Level.Trial)
    public void setUp() {
        ModelConfig config = ModelConfig.kaggle();
        backend = new CpuDenseBackend(ModelState.initial(config, OptimizerSettings.sgd(0.01f), 1), BATCH, threads);
        SplittableRandom rnd = new SplittableRandom(2);
        dense = new float[BATCH * config.denseFeatures()];
        for (int i = 0; i < dense.length; i++) {
            dense[i] = (float) Math.log1p(rnd.nextInt(1000));
        }
        emb = new float[config.tables()][BATCH * config.dim()];
        for (float[] e : emb) {
            for (int i = 0; i < e.length; i++) {
                e[i] = (float) ((rnd.nextDouble() * 2 - 1) * 0.01);
            }
        }
        labels = new float[BATCH];
        for (int i = 0; i < BATCH; i++) {
            labels[i] = rnd.nextInt(4) == 0 ? 1f : 0f;
        }
        embGrad = new float[BATCH * config.dim()];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
    }

    @Benchmark
    public double step() {
        backend.putDense(dense, 0, BATCH);
        for (int t = 0; t < emb.length; t++) {
            backend.putEmbedding(t, emb[t], 0, BATCH);
        }
        backend.putLabels(labels, 0, BATCH);
        double loss = backend.step(BATCH).mean();
        for (int t = 0; t < emb.length; t++) {
            backend.getEmbeddingGradient(t, embGrad, 0, BATCH);
        }
        return loss;
    }
}

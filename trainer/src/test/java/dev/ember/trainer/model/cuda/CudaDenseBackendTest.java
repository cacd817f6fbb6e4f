package dev.ember.trainer.model.cuda;

import dev.ember.gpu.device.CudaDevice;
import dev.ember.trainer.model.DenseBackend;
import dev.ember.trainer.model.ModelConfig;
import dev.ember.trainer.model.ModelState;
import dev.ember.trainer.model.OptimizerSettings;
import dev.ember.trainer.model.ParameterLayout;
import dev.ember.trainer.model.RandomBatch;
import dev.ember.trainer.model.cpu.CpuDenseBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CUDA backend against the fp32 CPU one on random Kaggle-shape batches: forward outputs,
 * loss, every gradient and the weights after several steps agree norm-wise within 1e-4 with TF32
 * off; graph replay gives the eager bits; TF32 stays close; a warm step allocates nothing.
 */
class CudaDenseBackendTest {
    private static final ModelConfig KAGGLE = ModelConfig.kaggle();
    private static final double TOLERANCE = 1e-4;
    private static CudaDevice device;

    /** The device, opened by the first test; each test without CUDA is skipped with the reason. */
    private static CudaDevice device() {
        if (device == null) {
            device = CudaTestDevice.open();
        }
        return device;
    }

    @AfterAll
    static void close() {
        if (device != null) {
            device.close();
        }
    }

    @Test
    void sgdAgreesWithCpuEager() {
        agreesWithCpu(OptimizerSettings.sgd(0.05f), false);
    }

    @Test
    void adagradAgreesWithCpuInGraphs() {
        agreesWithCpu(OptimizerSettings.adagrad(0.01f), true);
    }

    private void agreesWithCpu(OptimizerSettings optimizer, boolean graphs) {
        int batch = 300;
        ModelState initial = ModelState.initial(KAGGLE, optimizer, 11);
        ParameterLayout layout = new ParameterLayout(KAGGLE);
        try (CpuDenseBackend cpu = new CpuDenseBackend(initial, batch, 2);
             CudaDenseBackend gpu = new CudaDenseBackend(device(), initial, batch, GemmMath.FP32, graphs)) {
            RandomBatch first = new RandomBatch(KAGGLE, batch, 12);
            first.putInto(cpu);
            first.putInto(gpu);
            assertClose("forward loss", cpu.forward(batch).mean(), gpu.forward(batch).mean());
            assertNormClose("predictions", predictions(cpu, batch), predictions(gpu, batch));

            assertClose("loss", cpu.forwardBackward(batch).mean(), gpu.forwardBackward(batch).mean());
            float[] gc = new float[layout.size()];
            float[] gg = new float[layout.size()];
            cpu.getParameterGradient(gc);
            gpu.getParameterGradient(gg);
            assertPerLayer("gradient", layout, gc, gg);
            float[] ec = new float[batch * KAGGLE.dim()];
            float[] eg = new float[batch * KAGGLE.dim()];
            for (int t = 0; t < KAGGLE.tables(); t++) {
                cpu.getEmbeddingGradient(t, ec, 0, batch);
                gpu.getEmbeddingGradient(t, eg, 0, batch);
                assertNormClose("embedding gradient " + t, ec, eg);
            }
            cpu.update();
            gpu.update();
            int[] batches = {batch, batch, 211, batch, batch, 211, 211};
            for (int s = 0; s < batches.length; s++) {
                RandomBatch data = new RandomBatch(KAGGLE, batches[s], 100 + s);
                data.putInto(cpu);
                data.putInto(gpu);
                assertClose("loss of step " + s, cpu.step(batches[s]).mean(), gpu.step(batches[s]).mean());
            }
            ModelState sc = cpu.saveState();
            ModelState sg = gpu.saveState();
            assertEquals(sc.updates(), sg.updates());
            assertPerLayer("weights after 8 steps", layout, sc.parameters(), sg.parameters());
            if (optimizer.kind().hasState()) {
                assertPerLayer("Adagrad state after 8 steps", layout, sc.optimizerState(), sg.optimizerState());
            }
        }
    }

    @Test
    void graphReplayGivesTheEagerBits() {
        ModelState initial = ModelState.initial(KAGGLE, OptimizerSettings.adagrad(0.02f), 21);
        try (CudaDenseBackend eager = new CudaDenseBackend(device(), initial, 256, GemmMath.FP32, false);
             CudaDenseBackend graphs = new CudaDenseBackend(device(), initial, 256, GemmMath.FP32, true)) {
            int[] batches = {256, 256, 256, 99, 99, 99, 256};
            for (int s = 0; s < batches.length; s++) {
                if (s == 4) {
                    eager.setLearningRate(0.005f); // a captured graph must see the new rate
                    graphs.setLearningRate(0.005f);
                }
                RandomBatch data = new RandomBatch(KAGGLE, batches[s], 300 + s);
                data.putInto(eager);
                data.putInto(graphs);
                assertEquals(eager.step(batches[s]).mean(), graphs.step(batches[s]).mean(), 0.0, "loss of step " + s);
                assertEquals(eager.forward(batches[s]).mean(), graphs.forward(batches[s]).mean(), 0.0, "forward " + s);
            }
            float[] a = new float[99 * KAGGLE.dim()];
            float[] b = new float[a.length];
            eager.getEmbeddingGradient(3, a, 0, 99);
            graphs.getEmbeddingGradient(3, b, 0, 99);
            assertArrayEquals(a, b, "embedding gradient");
            assertArrayEquals(eager.saveState().toBytes(), graphs.saveState().toBytes(), "weights and Adagrad state");
        }
    }

    @Test
    void tf32StaysCloseToFp32() {
        int batch = 512;
        ModelState initial = ModelState.initial(KAGGLE, OptimizerSettings.sgd(0.05f), 31);
        ParameterLayout layout = new ParameterLayout(KAGGLE);
        try (CudaDenseBackend fp32 = new CudaDenseBackend(device(), initial, batch, GemmMath.FP32, true);
             CudaDenseBackend tf32 = new CudaDenseBackend(device(), initial, batch, GemmMath.TF32, true)) {
            RandomBatch data = new RandomBatch(KAGGLE, batch, 32);
            data.putInto(fp32);
            data.putInto(tf32);
            double l32 = fp32.forwardBackward(batch).mean();
            double lt = tf32.forwardBackward(batch).mean();
            assertTrue(Math.abs(l32 - lt) <= 1e-2 * Math.abs(l32), "loss fp32 " + l32 + " vs tf32 " + lt);
            float[] a = new float[layout.size()];
            float[] b = new float[layout.size()];
            fp32.getParameterGradient(a);
            tf32.getParameterGradient(b);
            double rel = relative(a, b, 0, a.length);
            System.out.printf("TF32 vs fp32: loss %.8f vs %.8f, gradient norm-wise %.2e%n", l32, lt, rel);
            assertTrue(rel < 5e-2, "TF32 gradient differs from fp32 by " + rel + " norm-wise");
        }
    }

    @Test
    void aWarmStepAllocatesNothing() {
        int batch = 128;
        RandomBatch data = new RandomBatch(KAGGLE, batch, 41);
        float[] g = new float[batch * KAGGLE.dim()];
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        try (CudaDenseBackend backend = new CudaDenseBackend(device(),
                ModelState.initial(KAGGLE, OptimizerSettings.adagrad(0.01f), 1), batch)) {
            long allocated = 0;
            for (int s = 0; s < 8; s++) {
                long before = mx.getCurrentThreadAllocatedBytes();
                data.putInto(backend);
                backend.step(batch).mean();
                backend.forward(batch).mean();
                for (int t = 0; t < KAGGLE.tables(); t++) {
                    backend.getEmbeddingGradient(t, g, 0, batch);
                }
                allocated = mx.getCurrentThreadAllocatedBytes() - before; // the first steps capture graphs
            }
            assertEquals(0, allocated, "bytes allocated by one step after warm-up");
        }
    }

    private static float[] predictions(DenseBackend backend, int batch) {
        float[] p = new float[batch];
        backend.getPredictions(p, 0, batch);
        return p;
    }

    private static void assertPerLayer(String what, ParameterLayout layout, float[] cpu, float[] gpu) {
        for (int l = 0; l < layout.layers(); l++) {
            int w = layout.weightOffset(l);
            int b = layout.biasOffset(l);
            assertNormClose(what + " layer " + l + " W", cpu, gpu, w, b - w);
            assertNormClose(what + " layer " + l + " b", cpu, gpu, b, layout.outputWidth(l));
        }
    }

    private static void assertClose(String what, double cpu, double gpu) {
        double rel = Math.abs(cpu - gpu) / Math.abs(cpu);
        assertTrue(rel <= TOLERANCE, what + ": CPU " + cpu + " vs CUDA " + gpu + " (relative " + rel + ")");
    }

    private static void assertNormClose(String what, float[] cpu, float[] gpu) {
        assertNormClose(what, cpu, gpu, 0, cpu.length);
    }

    private static void assertNormClose(String what, float[] cpu, float[] gpu, int from, int count) {
        double rel = relative(cpu, gpu, from, count);
        assertTrue(rel <= TOLERANCE, what + ": CPU vs CUDA differ by " + rel + " norm-wise");
    }

    /** {@code |gpu - cpu| / |cpu|} over a range, in double; the reference must not be all zero. */
    private static double relative(float[] cpu, float[] gpu, int from, int count) {
        double diff = 0;
        double norm = 0;
        for (int i = from; i < from + count; i++) {
            double d = (double) gpu[i] - cpu[i];
            diff += d * d;
            norm += (double) cpu[i] * cpu[i];
        }
        assertTrue(norm > 0, "reference range of " + count + " values at " + from + " is all zero");
        return Math.sqrt(diff / norm);
    }
}

package dev.ember.trainer.model.cpu;

import dev.ember.trainer.model.DenseBackend;
import dev.ember.trainer.model.DenseBackendContract;
import dev.ember.trainer.model.ModelConfig;
import dev.ember.trainer.model.ModelState;
import dev.ember.trainer.model.OptimizerSettings;
import dev.ember.trainer.model.RandomBatch;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The CPU backend: the contract, plus bit-identical results for any thread count and no allocation per step. */
class CpuDenseBackendTest extends DenseBackendContract {
    @Override
    protected DenseBackend create(ModelState initial, int maxBatch) {
        return new CpuDenseBackend(initial, maxBatch, 3, 4);
    }

    @Test
    void sameBitsForOneAndFourThreads() {
        for (OptimizerSettings opt : new OptimizerSettings[] {OptimizerSettings.sgd(0.1f), OptimizerSettings.adagrad(0.02f)}) {
            ModelState initial = ModelState.initial(KAGGLE, opt, 3);
            try (CpuDenseBackend one = new CpuDenseBackend(initial, 300, 1);
                 CpuDenseBackend four = new CpuDenseBackend(initial, 300, 4)) {
                int[] batches = {300, 157, 9};
                for (int s = 0; s < batches.length; s++) {
                    int batch = batches[s];
                    RandomBatch data = new RandomBatch(KAGGLE, batch, 100 + s);
                    data.putInto(one);
                    data.putInto(four);
                    double l1 = one.step(batch).mean();
                    double l4 = four.step(batch).mean();
                    assertEquals(Double.doubleToRawLongBits(l1), Double.doubleToRawLongBits(l4), opt.kind() + " loss, step " + s);
                    float[] e1 = new float[batch * KAGGLE.dim()];
                    float[] e4 = new float[batch * KAGGLE.dim()];
                    for (int t = 0; t < KAGGLE.tables(); t++) {
                        one.getEmbeddingGradient(t, e1, 0, batch);
                        four.getEmbeddingGradient(t, e4, 0, batch);
                        assertBitsEqual(e1, e4, opt.kind() + " embedding gradient " + t + ", step " + s);
                    }
                    float[] p1 = new float[batch];
                    float[] p4 = new float[batch];
                    one.getPredictions(p1, 0, batch);
                    four.getPredictions(p4, 0, batch);
                    assertBitsEqual(p1, p4, opt.kind() + " predictions, step " + s);
                }
                assertArrayEquals(one.saveState().toBytes(), four.saveState().toBytes(), opt.kind() + " weights and state");
            }
        }
    }

    @Test
    void aStepAllocatesNothing() {
        ModelConfig small = ModelConfig.of(4, new int[] {5, 32, 8}, new int[] {ModelConfig.topInputWidth(4, 8), 16, 1});
        int batch = 64;
        RandomBatch data = new RandomBatch(small, batch, 3);
        float[] g = new float[batch * small.dim()];
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        try (CpuDenseBackend backend = new CpuDenseBackend(ModelState.initial(small, OptimizerSettings.adagrad(0.01f), 1), batch, 1)) {
            long allocated = 0;
            for (int s = 0; s < 8; s++) {
                long before = mx.getCurrentThreadAllocatedBytes();
                data.putInto(backend);
                backend.step(batch).mean();
                backend.forward(batch).mean();
                for (int t = 0; t < small.tables(); t++) {
                    backend.getEmbeddingGradient(t, g, 0, batch);
                }
                allocated = mx.getCurrentThreadAllocatedBytes() - before; // the first steps load classes
            }
            assertEquals(0, allocated, "bytes allocated by one step after warm-up");
        }
    }

    private static void assertBitsEqual(float[] a, float[] b, String what) {
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                throw new AssertionError(what + " differs at " + i + ": " + a[i] + " vs " + b[i] + " " + Arrays.toString(
                        Arrays.copyOfRange(a, Math.max(0, i - 2), Math.min(a.length, i + 3))));
            }
        }
    }
}

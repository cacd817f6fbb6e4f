package dev.ember.trainer.model.cpu;

import dev.ember.trainer.model.ModelConfig;
import dev.ember.trainer.model.ModelState;
import dev.ember.trainer.model.OptimizerSettings;
import dev.ember.trainer.model.ParameterLayout;
import dev.ember.trainer.model.ReferenceDlrm;
import dev.ember.trainer.model.StepLoss;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The fp32 CPU backend against the float64 reference, and its determinism across thread counts. */
class CpuDenseBackendTest {
    private static final ModelConfig KAGGLE = ModelConfig.kaggle();

    @Test
    void forwardMatchesFloat64Reference() {
        int batch = 37;
        ModelState initial = ModelState.initial(KAGGLE, OptimizerSettings.sgd(0.1f), 5);
        RandomBatch data = new RandomBatch(KAGGLE, batch, 6);
        ReferenceDlrm.Result expected = new ReferenceDlrm(KAGGLE).run(RandomBatch.toDouble(initial.parameters()),
                data.denseAsDouble(), data.embAsDouble(), data.labelsAsDouble(), batch, false);
        try (CpuDenseBackend backend = new CpuDenseBackend(initial, 64, 2)) {
            data.putInto(backend);
            StepLoss loss = backend.forward(batch);
            assertRelative("loss", expected.loss, loss.mean(), 1e-5);
            float[] p = new float[batch];
            backend.getPredictions(p, 0, batch);
            for (int r = 0; r < batch; r++) {
                double want = 1 / (1 + Math.exp(-expected.logits[r]));
                assertRelative("prediction " + r, want, p[r], 1e-5);
            }
        }
    }

    @Test
    void gradientsMatchFloat64Reference() {
        int batch = 45;
        ModelState initial = ModelState.initial(KAGGLE, OptimizerSettings.sgd(0.1f), 7);
        RandomBatch data = new RandomBatch(KAGGLE, batch, 8);
        ReferenceDlrm.Result expected = new ReferenceDlrm(KAGGLE).run(RandomBatch.toDouble(initial.parameters()),
                data.denseAsDouble(), data.embAsDouble(), data.labelsAsDouble(), batch, true);
        ParameterLayout layout = new ParameterLayout(KAGGLE);
        try (CpuDenseBackend backend = new CpuDenseBackend(initial, batch, 3, 4)) {
            data.putInto(backend);
            assertRelative("loss", expected.loss, backend.forwardBackward(batch).mean(), 1e-5);
            float[] grad = new float[layout.size()];
            backend.getParameterGradient(grad);
            for (int l = 0; l < layout.layers(); l++) {
                int w = layout.weightOffset(l);
                int b = layout.biasOffset(l);
                assertNormClose("layer " + l + " dW", expected.parameterGradient, grad, w, b - w);
                assertNormClose("layer " + l + " db", expected.parameterGradient, grad, b, layout.outputWidth(l));
            }
            float[] g = new float[batch * KAGGLE.dim()];
            for (int t = 0; t < KAGGLE.tables(); t++) {
                backend.getEmbeddingGradient(t, g, 0, batch);
                assertNormClose("embedding " + t, expected.embeddingGradient[t], g, 0, g.length);
            }
        }
    }

    @Test
    void sgdUpdateIsWeightsMinusRateTimesGradient() {
        int batch = 20;
        ModelState initial = ModelState.initial(KAGGLE, OptimizerSettings.sgd(0.25f), 9);
        try (CpuDenseBackend backend = new CpuDenseBackend(initial, batch, 2)) {
            new RandomBatch(KAGGLE, batch, 10).putInto(backend);
            backend.forwardBackward(batch);
            float[] grad = new float[initial.parameters().length];
            backend.getParameterGradient(grad);
            backend.update();
            float[] after = backend.saveState().parameters();
            for (int i = 0; i < grad.length; i++) {
                assertEquals(initial.parameters()[i] - 0.25f * grad[i], after[i], 0f, "parameter " + i);
            }
            assertEquals(1, backend.saveState().updates());
        }
    }

    @Test
    void adagradUpdateFollowsPyTorch() {
        int batch = 20;
        ModelState initial = ModelState.initial(KAGGLE, OptimizerSettings.adagrad(0.05f), 9);
        try (CpuDenseBackend backend = new CpuDenseBackend(initial, batch, 2)) {
            float[] acc = new float[initial.parameters().length];
            float[] w = initial.parameters().clone();
            float[] grad = new float[acc.length];
            for (int step = 0; step < 2; step++) {
                new RandomBatch(KAGGLE, batch, 20 + step).putInto(backend);
                backend.forwardBackward(batch);
                backend.getParameterGradient(grad);
                backend.update();
                for (int i = 0; i < acc.length; i++) {
                    acc[i] += grad[i] * grad[i];
                    w[i] -= 0.05f * (grad[i] / ((float) Math.sqrt(acc[i]) + 1e-10f));
                }
            }
            assertArrayEquals(acc, backend.saveState().optimizerState());
            assertArrayEquals(w, backend.saveState().parameters());
        }
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
    void saveAndRestoreContinueExactly() {
        ModelConfig small = ModelConfig.of(5, new int[] {6, 12, 4}, new int[] {ModelConfig.topInputWidth(5, 4), 10, 1});
        int batch = 33;
        ModelState initial = ModelState.initial(small, OptimizerSettings.adagrad(0.05f), 1);
        try (CpuDenseBackend a = new CpuDenseBackend(initial, batch, 2);
             CpuDenseBackend b = new CpuDenseBackend(ModelState.initial(small, OptimizerSettings.adagrad(0.3f), 99), batch, 1)) {
            for (int s = 0; s < 3; s++) {
                new RandomBatch(small, batch, 40 + s).putInto(a);
                a.step(batch);
            }
            byte[] blob = a.saveState().toBytes();
            b.restoreState(ModelState.fromBytes(blob));
            assertArrayEquals(blob, b.saveState().toBytes());
            RandomBatch next = new RandomBatch(small, batch, 50);
            next.putInto(a);
            next.putInto(b);
            assertEquals(a.step(batch).mean(), b.step(batch).mean());
            assertArrayEquals(a.saveState().toBytes(), b.saveState().toBytes());
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

    @Test
    void rejectsBadInputWithClearErrors() {
        ModelConfig small = ModelConfig.of(2, new int[] {3, 4}, new int[] {ModelConfig.topInputWidth(2, 4), 1});
        ModelState initial = ModelState.initial(small, OptimizerSettings.sgd(0.1f), 1);
        try (CpuDenseBackend backend = new CpuDenseBackend(initial, 8, 1)) {
            IllegalArgumentException tooBig = assertThrows(IllegalArgumentException.class, () -> backend.forward(9));
            assertTrue(tooBig.getMessage().contains("maxBatch"), tooBig.getMessage());
            float[] labels = {0, 1, 2};
            IllegalArgumentException badLabel = assertThrows(IllegalArgumentException.class, () -> backend.putLabels(labels, 0, 3));
            assertTrue(badLabel.getMessage().contains("sample 2"), badLabel.getMessage());
            assertThrows(IllegalArgumentException.class, () -> backend.putEmbedding(2, new float[32], 0, 8));
            assertThrows(IllegalStateException.class, backend::update);
            ModelState other = ModelState.initial(KAGGLE, OptimizerSettings.sgd(0.1f), 1);
            IllegalArgumentException wrongShape = assertThrows(IllegalArgumentException.class, () -> backend.restoreState(other));
            assertTrue(wrongShape.getMessage().contains("shape"), wrongShape.getMessage());
            ModelState adagrad = ModelState.initial(small, OptimizerSettings.adagrad(0.1f), 1);
            assertThrows(IllegalArgumentException.class, () -> backend.restoreState(adagrad));
            assertThrows(IllegalArgumentException.class, () -> backend.setLearningRate(Float.NaN));
        }
    }

    private static void assertRelative(String what, double expected, double actual, double tolerance) {
        double error = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-30);
        assertTrue(error <= tolerance, what + ": fp32 " + actual + " vs float64 " + expected + " (relative " + error + ")");
    }

    private static void assertNormClose(String what, double[] expected, float[] actual, int from, int count) {
        double diff = 0;
        double norm = 0;
        for (int i = from; i < from + count; i++) {
            diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            norm += expected[i] * expected[i];
        }
        double rel = Math.sqrt(diff / norm);
        assertTrue(norm > 0 && rel <= 1e-5, what + ": fp32 vs float64 differ by " + rel + " norm-wise");
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

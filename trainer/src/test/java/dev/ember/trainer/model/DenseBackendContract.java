package dev.ember.trainer.model;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What every {@link DenseBackend} must do, checked against the float64 {@link ReferenceDlrm}.
 * A backend's test extends this class and says how to build one (the CUDA backend's test skips
 * through an assumption where no GPU is found).
 */
public abstract class DenseBackendContract {
    protected static final ModelConfig KAGGLE = ModelConfig.kaggle();

    /** A backend starting from {@code initial} that takes up to {@code maxBatch} samples. */
    protected abstract DenseBackend create(ModelState initial, int maxBatch);

    /** Relative error allowed on the loss and each prediction against float64. */
    protected double forwardTolerance() {
        return 1e-5;
    }

    /** Norm-wise relative error allowed on each gradient tensor against float64. */
    protected double gradientTolerance() {
        return 1e-5;
    }

    @Test
    void forwardMatchesFloat64Reference() {
        int batch = 37;
        ModelState initial = ModelState.initial(KAGGLE, OptimizerSettings.sgd(0.1f), 5);
        RandomBatch data = new RandomBatch(KAGGLE, batch, 6);
        ReferenceDlrm.Result expected = new ReferenceDlrm(KAGGLE).run(RandomBatch.toDouble(initial.parameters()),
                data.denseAsDouble(), data.embAsDouble(), data.labelsAsDouble(), batch, false);
        try (DenseBackend backend = create(initial, 64)) {
            data.putInto(backend);
            StepLoss loss = backend.forward(batch);
            assertEquals(batch, loss.batch());
            assertRelative("loss", expected.loss, loss.mean(), forwardTolerance());
            float[] p = new float[batch];
            backend.getPredictions(p, 0, batch);
            for (int r = 0; r < batch; r++) {
                double want = 1 / (1 + Math.exp(-expected.logits[r]));
                assertRelative("prediction " + r, want, p[r], forwardTolerance());
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
        try (DenseBackend backend = create(initial, batch)) {
            data.putInto(backend);
            assertRelative("loss", expected.loss, backend.forwardBackward(batch).mean(), forwardTolerance());
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
        try (DenseBackend backend = create(initial, batch)) {
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
            backend.setLearningRate(0.5f);
            assertEquals(0.5f, backend.saveState().optimizer().learningRate());
        }
    }

    @Test
    void adagradUpdateFollowsPyTorch() {
        int batch = 20;
        ModelState initial = ModelState.initial(KAGGLE, OptimizerSettings.adagrad(0.05f), 9);
        try (DenseBackend backend = create(initial, batch)) {
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
    void saveAndRestoreContinueExactly() {
        ModelConfig small = ModelConfig.of(5, new int[] {6, 12, 4}, new int[] {ModelConfig.topInputWidth(5, 4), 10, 1});
        int batch = 33;
        ModelState initial = ModelState.initial(small, OptimizerSettings.adagrad(0.05f), 1);
        try (DenseBackend a = create(initial, batch);
             DenseBackend b = create(ModelState.initial(small, OptimizerSettings.adagrad(0.3f), 99), batch)) {
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
    void rejectsBadInputWithClearErrors() {
        ModelConfig small = ModelConfig.of(2, new int[] {3, 4}, new int[] {ModelConfig.topInputWidth(2, 4), 1});
        ModelState initial = ModelState.initial(small, OptimizerSettings.sgd(0.1f), 1);
        try (DenseBackend backend = create(initial, 8)) {
            IllegalArgumentException tooBig = assertThrows(IllegalArgumentException.class, () -> backend.forward(9));
            assertTrue(tooBig.getMessage().contains("maxBatch"), tooBig.getMessage());
            float[] labels = {0, 1, 2};
            IllegalArgumentException badLabel = assertThrows(IllegalArgumentException.class, () -> backend.putLabels(labels, 0, 3));
            assertTrue(badLabel.getMessage().contains("sample 2"), badLabel.getMessage());
            assertThrows(IllegalArgumentException.class, () -> backend.putEmbedding(2, new float[32], 0, 8));
            IllegalArgumentException shortArray = assertThrows(IllegalArgumentException.class,
                    () -> backend.putEmbedding(1, new float[31], 0, 8));
            assertTrue(shortArray.getMessage().contains("table 1"), shortArray.getMessage());
            assertThrows(IllegalArgumentException.class, () -> backend.putDense(new float[24], 1, 8));
            assertThrows(IllegalStateException.class, backend::update);
            ModelState other = ModelState.initial(KAGGLE, OptimizerSettings.sgd(0.1f), 1);
            IllegalArgumentException wrongShape = assertThrows(IllegalArgumentException.class, () -> backend.restoreState(other));
            assertTrue(wrongShape.getMessage().contains("shape"), wrongShape.getMessage());
            ModelState adagrad = ModelState.initial(small, OptimizerSettings.adagrad(0.1f), 1);
            assertThrows(IllegalArgumentException.class, () -> backend.restoreState(adagrad));
            assertThrows(IllegalArgumentException.class, () -> backend.setLearningRate(Float.NaN));
        }
    }

    @Test
    void sgdLearnsSeparableProblem() {
        learns(OptimizerSettings.sgd(0.5f));
    }

    @Test
    void adagradLearnsSeparableProblem() {
        learns(OptimizerSettings.adagrad(0.02f));
    }

    /**
     * A small DLRM (3 tables, dim 4) learns labels that are the side of a fixed hyperplane
     * through the dense features and one embedding coordinate; the embeddings are fixed per
     * sample (the store is not trained here): the loss falls below a third and accuracy passes 93%.
     */
    private void learns(OptimizerSettings optimizer) {
        ModelConfig small = ModelConfig.of(3, new int[] {8, 16, 4}, new int[] {ModelConfig.topInputWidth(3, 4), 16, 1});
        int samples = 1024;
        int batch = 64;
        SplittableRandom rnd = new SplittableRandom(2024);
        int d = small.denseFeatures();
        int dim = small.dim();
        float[] dense = new float[samples * d];
        float[][] emb = new float[small.tables()][samples * dim];
        float[] labels = new float[samples];
        double[] plane = new double[d];
        for (int i = 0; i < d; i++) {
            plane[i] = rnd.nextDouble() * 2 - 1;
        }
        for (int s = 0; s < samples; s++) {
            double side = 0;
            for (int i = 0; i < d; i++) {
                dense[s * d + i] = (float) (rnd.nextDouble() * 2 - 1);
                side += plane[i] * dense[s * d + i];
            }
            for (float[] e : emb) {
                for (int j = 0; j < dim; j++) {
                    e[s * dim + j] = (float) (rnd.nextDouble() - 0.5);
                }
            }
            side += 0.5 * emb[0][s * dim];
            labels[s] = side > 0 ? 1f : 0f;
        }
        try (DenseBackend backend = create(ModelState.initial(small, optimizer, 7), samples)) {
            double before = evaluate(backend, dense, emb, labels)[0];
            for (int epoch = 0; epoch < 30; epoch++) {
                for (int start = 0; start < samples; start += batch) {
                    backend.putDense(dense, start * d, batch);
                    for (int t = 0; t < emb.length; t++) {
                        backend.putEmbedding(t, emb[t], start * dim, batch);
                    }
                    backend.putLabels(labels, start, batch);
                    backend.step(batch);
                }
            }
            double[] after = evaluate(backend, dense, emb, labels);
            System.out.printf("%s: loss %.4f -> %.4f, accuracy %.3f%n", optimizer.kind(), before, after[0], after[1]);
            assertTrue(after[0] < 0.35 * before, optimizer.kind() + ": loss " + before + " -> " + after[0]);
            assertTrue(after[1] > 0.93, optimizer.kind() + ": accuracy " + after[1] + " (loss " + before + " -> " + after[0] + ")");
        }
    }

    /** Loss and accuracy over all samples in one forward pass. */
    private static double[] evaluate(DenseBackend backend, float[] dense, float[][] emb, float[] labels) {
        int n = labels.length;
        backend.putDense(dense, 0, n);
        for (int t = 0; t < emb.length; t++) {
            backend.putEmbedding(t, emb[t], 0, n);
        }
        backend.putLabels(labels, 0, n);
        double loss = backend.forward(n).mean();
        float[] p = new float[n];
        backend.getPredictions(p, 0, n);
        int right = 0;
        for (int s = 0; s < n; s++) {
            right += (p[s] > 0.5f) == (labels[s] > 0.5f) ? 1 : 0;
        }
        return new double[] {loss, (double) right / n};
    }

    private static void assertRelative(String what, double expected, double actual, double tolerance) {
        double error = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-30);
        assertTrue(error <= tolerance, what + ": backend " + actual + " vs float64 " + expected + " (relative " + error + ")");
    }

    private void assertNormClose(String what, double[] expected, float[] actual, int from, int count) {
        double diff = 0;
        double norm = 0;
        for (int i = from; i < from + count; i++) {
            diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            norm += expected[i] * expected[i];
        }
        double rel = Math.sqrt(diff / norm);
        assertTrue(norm > 0 && rel <= gradientTolerance(), what + ": backend vs float64 differ by " + rel + " norm-wise");
    }
}

package dev.ember.trainer.model.cpu;

import dev.ember.trainer.model.ModelConfig;
import dev.ember.trainer.model.ModelState;
import dev.ember.trainer.model.OptimizerSettings;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** A small DLRM learns a separable problem with either dense optimizer. */
class CpuDenseBackendLearningTest {
    private static final ModelConfig SMALL = ModelConfig.of(3, new int[] {8, 16, 4}, new int[] {ModelConfig.topInputWidth(3, 4), 16, 1});
    private static final int SAMPLES = 1024;
    private static final int BATCH = 64;

    @Test
    void sgdLearnsSeparableProblem() {
        learns(OptimizerSettings.sgd(0.5f));
    }

    @Test
    void adagradLearnsSeparableProblem() {
        learns(OptimizerSettings.adagrad(0.02f));
    }

    /**
     * Labels are the side of a fixed hyperplane through the dense features plus one
     * embedding coordinate; the embeddings are fixed per sample (the store is not trained here).
     */
    private static void learns(OptimizerSettings optimizer) {
        SplittableRandom rnd = new SplittableRandom(2024);
        int d = SMALL.denseFeatures();
        int dim = SMALL.dim();
        float[] dense = new float[SAMPLES * d];
        float[][] emb = new float[SMALL.tables()][SAMPLES * dim];
        float[] labels = new float[SAMPLES];
        double[] plane = new double[d];
        for (int i = 0; i < d; i++) {
            plane[i] = rnd.nextDouble() * 2 - 1;
        }
        for (int s = 0; s < SAMPLES; s++) {
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
        try (CpuDenseBackend backend = new CpuDenseBackend(ModelState.initial(SMALL, optimizer, 7), SAMPLES, 2)) {
            double before = evaluate(backend, dense, emb, labels)[0];
            for (int epoch = 0; epoch < 30; epoch++) {
                for (int start = 0; start < SAMPLES; start += BATCH) {
                    backend.putDense(dense, start * d, BATCH);
                    for (int t = 0; t < emb.length; t++) {
                        backend.putEmbedding(t, emb[t], start * dim, BATCH);
                    }
                    backend.putLabels(labels, start, BATCH);
                    backend.step(BATCH);
                }
            }
            double[] after = evaluate(backend, dense, emb, labels);
            System.out.printf("%s: loss %.4f -> %.4f, accuracy %.3f%n", optimizer.kind(), before, after[0], after[1]);
            assertTrue(after[0] < 0.35 * before, optimizer.kind() + ": loss " + before + " -> " + after[0]);
            assertTrue(after[1] > 0.93, optimizer.kind() + ": accuracy " + after[1] + " (loss " + before + " -> " + after[0] + ")");
        }
    }

    /** Loss and accuracy over all samples in one forward pass. */
    private static double[] evaluate(CpuDenseBackend backend, float[] dense, float[][] emb, float[] labels) {
        backend.putDense(dense, 0, SAMPLES);
        for (int t = 0; t < emb.length; t++) {
            backend.putEmbedding(t, emb[t], 0, SAMPLES);
        }
        backend.putLabels(labels, 0, SAMPLES);
        double loss = backend.forward(SAMPLES).mean();
        float[] p = new float[SAMPLES];
        backend.getPredictions(p, 0, SAMPLES);
        int right = 0;
        for (int s = 0; s < SAMPLES; s++) {
            right += (p[s] > 0.5f) == (labels[s] > 0.5f) ? 1 : 0;
        }
        return new double[] {loss, (double) right / SAMPLES};
    }
}

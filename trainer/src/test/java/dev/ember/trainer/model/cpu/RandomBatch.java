package dev.ember.trainer.model.cpu;

import dev.ember.trainer.model.DenseBackend;
import dev.ember.trainer.model.ModelConfig;

import java.util.SplittableRandom;

/** A random batch (normal dense features, uniform pooled vectors, 0/1 labels) from a seed, in host arrays. */
final class RandomBatch {
    final int batch;
    final float[] dense;
    final float[][] emb;
    final float[] labels;

    RandomBatch(ModelConfig config, int batch, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        this.batch = batch;
        dense = new float[batch * config.denseFeatures()];
        for (int i = 0; i < dense.length; i++) {
            dense[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        emb = new float[config.tables()][batch * config.dim()];
        for (float[] e : emb) {
            for (int i = 0; i < e.length; i++) {
                e[i] = (float) (rnd.nextDouble() - 0.5);
            }
        }
        labels = new float[batch];
        for (int r = 0; r < batch; r++) {
            labels[r] = rnd.nextInt(4) == 0 ? 1f : 0f;
        }
    }

    void putInto(DenseBackend backend) {
        backend.putDense(dense, 0, batch);
        for (int t = 0; t < emb.length; t++) {
            backend.putEmbedding(t, emb[t], 0, batch);
        }
        backend.putLabels(labels, 0, batch);
    }

    double[] denseAsDouble() {
        return toDouble(dense);
    }

    double[][] embAsDouble() {
        double[][] e = new double[emb.length][];
        for (int t = 0; t < emb.length; t++) {
            e[t] = toDouble(emb[t]);
        }
        return e;
    }

    double[] labelsAsDouble() {
        return toDouble(labels);
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}

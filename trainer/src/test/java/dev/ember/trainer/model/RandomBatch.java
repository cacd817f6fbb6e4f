package dev.ember.trainer.model;

import java.util.SplittableRandom;

/** A random batch from a seed, in host arrays: dense features uniform in [-1, 1), pooled vectors in [-0.5, 0.5), a quarter of labels 1. */
public final class RandomBatch {
    public final int batch;
    public final float[] dense;
    public final float[][] emb;
    public final float[] labels;

    public RandomBatch(ModelConfig config, int batch, long seed) {
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

    public void putInto(DenseBackend backend) {
        backend.putDense(dense, 0, batch);
        for (int t = 0; t < emb.length; t++) {
            backend.putEmbedding(t, emb[t], 0, batch);
        }
        backend.putLabels(labels, 0, batch);
    }

    public double[] denseAsDouble() {
        return toDouble(dense);
    }

    public double[][] embAsDouble() {
        double[][] e = new double[emb.length][];
        for (int t = 0; t < emb.length; t++) {
            e[t] = toDouble(emb[t]);
        }
        return e;
    }

    public double[] labelsAsDouble() {
        return toDouble(labels);
    }

    public static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}

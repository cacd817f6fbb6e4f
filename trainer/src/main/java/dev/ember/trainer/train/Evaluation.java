package dev.ember.trainer.train;

import dev.ember.trainer.data.Batch;
import dev.ember.trainer.data.DataPart;
import dev.ember.trainer.data.gen.Auc;
import dev.ember.trainer.model.DenseBackend;

/** AUC, log loss and accuracy of the model over a held-out part, forward only. */
public record Evaluation(long samples, double auc, double logLoss, double accuracy) {

    /** Evaluates up to {@code maxSamples} samples of {@code part} (all of them when it is <= 0). */
    public static Evaluation run(DataPart part, int batchSize, long maxSamples, EmbeddingPath path,
                                 DenseBackend backend, Batch batch, float[][] pooled) {
        long n = maxSamples > 0 ? Math.min(maxSamples, part.samples()) : part.samples();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("evaluation of " + n + " samples: cap it with --eval-samples");
        }
        float[] scores = new float[(int) n];
        byte[] labels = new byte[(int) n];
        double logLoss = 0;
        long correct = 0;
        int at = 0;
        int tables = pooled.length;
        while (at < n) {
            int count = (int) Math.min(batchSize, n - at);
            part.dataset().read(part.start() + at, count, batch);
            path.lookupForward(batch, pooled);
            backend.putDense(batch.dense(), 0, count);
            for (int t = 0; t < tables && !path.poolsOnDevice(); t++) {
                backend.putEmbedding(t, pooled[t], 0, count);
            }
            backend.putLabels(batch.labels(), 0, count);
            backend.forward(count);
            backend.getPredictions(scores, at, count);
            float[] y = batch.labels();
            for (int i = 0; i < count; i++) {
                double p = Math.min(Math.max(scores[at + i], 1e-7), 1 - 1e-7);
                labels[at + i] = (byte) (y[i] > 0.5f ? 1 : 0);
                logLoss -= labels[at + i] == 1 ? Math.log(p) : Math.log(1 - p);
                if ((p >= 0.5) == (labels[at + i] == 1)) {
                    correct++;
                }
            }
            at += count;
        }
        return new Evaluation(n, Auc.of(scores, labels, (int) n), logLoss / n, (double) correct / n);
    }
}

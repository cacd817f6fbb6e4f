package dev.ember.trainer.reference;

import dev.ember.trainer.data.Batch;
import dev.ember.trainer.data.CriteoSchema;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.data.DataPart;
import dev.ember.trainer.data.gen.Auc;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.IntBuffer;
import java.util.function.Consumer;

/**
 * A float64 logistic regression of the generator's planted form, fitted to the training part:
 * logit = bias + one weight per dense feature (as the data set holds it) + the sum over tables of
 * one weight per (table, row) (a bag sums its rows' weights). It is the best a model of the planted
 * form can learn from the data, so it tells how much of the gap between a trained DLRM and the
 * generator's learnable ceiling is the data's and how much the training's.
 *
 * <p>Fit: the maximum a posteriori weights under a Gaussian prior of standard deviation
 * {@code priorStd} on every row weight (the generator draws row weights with a spread of
 * {@code tableStd}), i.e. minimise {@code sum_i logloss_i + sum_r w_r^2 / (2 priorStd^2)}. The
 * penalty is split over a row's {@code n_r} training occurrences, so each sample's gradient is an
 * unbiased part of the whole objective's, and the fit runs per-sample Adagrad (per-coordinate step
 * {@code lr / sqrt(sum of squared gradients)}) over the training part in file order for
 * {@code epochs} passes. Bias and dense weights are not penalised.
 *
 * <pre>
 * off-heap, per table t (rows_t rows):
 *   weights  double[rows_t]   w_r
 *   squares  double[rows_t]   Adagrad's sum of squared gradients of w_r
 *   counts   int[rows_t]      n_r: occurrences of row r in the training part (first pass)
 * </pre>
 */
public final class LogisticReference {
    /** How many samples one read brings in. */
    private static final int READ = 4096;
    private static final double EPS = 1e-12;

    /**
     * @param epochs       passes over the training part
     * @param priorStd     standard deviation of the Gaussian prior on row weights
     * @param learningRate Adagrad's step size
     * @param evalSamples  held-out samples to score (0: all)
     */
    public record Settings(int epochs, double priorStd, double learningRate, long evalSamples) {
        public Settings {
            if (epochs < 1 || epochs > 1000) {
                throw new IllegalArgumentException("--epochs must be in 1..1000, got " + epochs);
            }
            if (!(priorStd > 0 && priorStd < 1e6)) {
                throw new IllegalArgumentException("--prior-std must be in (0, 1e6), got " + priorStd);
            }
            if (!(learningRate > 0 && learningRate < 100)) {
                throw new IllegalArgumentException("--lr must be in (0, 100), got " + learningRate);
            }
            if (evalSamples < 0) {
                throw new IllegalArgumentException("--eval-samples must be >= 0, got " + evalSamples);
            }
        }
    }

    /** One pass: the mean penalised training loss seen during it, and the held-out scores after it. */
    public record Epoch(int epoch, double trainObjective, double auc, double logLoss) {
    }

    private final BinaryDataset data;
    private final Settings settings;
    private final int tables;
    private final int dense;
    private final DoubleBuffer[] weights;
    private final DoubleBuffer[] squares;
    private final IntBuffer[] counts;
    private final double[] denseW;
    private final double[] denseSq;
    private double bias;
    private double biasSq;

    public LogisticReference(BinaryDataset data, Settings settings) {
        this.data = data;
        this.settings = settings;
        this.tables = CriteoSchema.TABLES;
        this.dense = CriteoSchema.DENSE;
        weights = new DoubleBuffer[tables];
        squares = new DoubleBuffer[tables];
        counts = new IntBuffer[tables];
        for (int t = 0; t < tables; t++) {
            int rows = Math.max(1, data.rows(t));
            weights[t] = direct(rows * 8L).asDoubleBuffer();
            squares[t] = direct(rows * 8L).asDoubleBuffer();
            counts[t] = direct(rows * 4L).asIntBuffer();
        }
        denseW = new double[dense];
        denseSq = new double[dense];
    }

    private static ByteBuffer direct(long bytes) {
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a table of " + bytes / 8 + " rows is too large for the reference");
        }
        return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
    }

    /** Fits, scoring the held-out part after every pass; {@code onEpoch} hears each. Returns the last. */
    public Epoch fit(Consumer<Epoch> onEpoch) {
        DataPart train = data.train();
        Batch batch = new Batch(READ);
        countRows(train, batch);
        double inverseVariance = 1.0 / (settings.priorStd() * settings.priorStd());
        double lr = settings.learningRate();
        Epoch last = null;
        for (int e = 1; e <= settings.epochs(); e++) {
            double objective = 0;
            for (long at = 0; at < train.samples(); at += READ) {
                int n = (int) Math.min(READ, train.samples() - at);
                data.read(train.start() + at, n, batch);
                float[] x = batch.dense();
                float[] y = batch.labels();
                for (int i = 0; i < n; i++) {
                    double z = logit(batch, i);
                    double p = sigmoid(z);
                    double g = p - y[i];
                    objective += y[i] > 0.5f ? -logOf(p) : -logOf(1 - p);
                    biasSq += g * g;
                    bias -= lr * g / (Math.sqrt(biasSq) + EPS);
                    for (int d = 0; d < dense; d++) {
                        double gd = g * x[i * dense + d];
                        denseSq[d] += gd * gd;
                        denseW[d] -= lr * gd / (Math.sqrt(denseSq[d]) + EPS);
                    }
                    for (int t = 0; t < tables; t++) {
                        int[] ids = batch.ids(t);
                        int[] off = batch.offsets(t);
                        DoubleBuffer w = weights[t];
                        DoubleBuffer sq = squares[t];
                        IntBuffer c = counts[t];
                        for (int k = off[i]; k < off[i + 1]; k++) {
                            int r = ids[k];
                            double wr = w.get(r);
                            double share = inverseVariance / c.get(r); // this occurrence's part of the penalty
                            objective += 0.5 * share * wr * wr;
                            double gr = g + share * wr;
                            double s = sq.get(r) + gr * gr;
                            sq.put(r, s);
                            w.put(r, wr - lr * gr / (Math.sqrt(s) + EPS));
                        }
                    }
                }
            }
            last = score(e, objective / train.samples(), batch);
            onEpoch.accept(last);
        }
        return last;
    }

    private void countRows(DataPart train, Batch batch) {
        for (long at = 0; at < train.samples(); at += READ) {
            int n = (int) Math.min(READ, train.samples() - at);
            data.read(train.start() + at, n, batch);
            for (int t = 0; t < tables; t++) {
                int[] ids = batch.ids(t);
                int end = batch.offsets(t)[n];
                IntBuffer c = counts[t];
                for (int k = 0; k < end; k++) {
                    c.put(ids[k], c.get(ids[k]) + 1);
                }
            }
        }
    }

    public double bias() {
        return bias;
    }

    /** The weight of dense feature {@code d}. */
    public double denseWeight(int d) {
        return denseW[d];
    }

    /** The weight of row {@code row} of table {@code table} (0 for rows the training part never holds). */
    public double rowWeight(int table, int row) {
        return weights[table].get(row);
    }

    private double logit(Batch batch, int i) {
        double z = bias;
        float[] x = batch.dense();
        for (int d = 0; d < dense; d++) {
            z += denseW[d] * x[i * dense + d];
        }
        for (int t = 0; t < tables; t++) {
            int[] ids = batch.ids(t);
            int[] off = batch.offsets(t);
            for (int k = off[i]; k < off[i + 1]; k++) {
                z += weights[t].get(ids[k]);
            }
        }
        return z;
    }

    private Epoch score(int epoch, double objective, Batch batch) {
        DataPart test = data.test();
        long n = settings.evalSamples() > 0 ? Math.min(settings.evalSamples(), test.samples()) : test.samples();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("evaluation of " + n + " samples: cap it with --eval-samples");
        }
        float[] scores = new float[(int) n];
        byte[] labels = new byte[(int) n];
        double logLoss = 0;
        for (int at = 0; at < n; at += READ) {
            int count = (int) Math.min(READ, n - at);
            data.read(test.start() + at, count, batch);
            float[] y = batch.labels();
            for (int i = 0; i < count; i++) {
                double z = logit(batch, i);
                double p = sigmoid(z);
                scores[at + i] = (float) z;
                labels[at + i] = (byte) (y[i] > 0.5f ? 1 : 0);
                logLoss -= labels[at + i] == 1 ? logOf(p) : logOf(1 - p);
            }
        }
        return new Epoch(epoch, objective, Auc.of(scores, labels, (int) n), logLoss / n);
    }

    private static double sigmoid(double z) {
        return 1.0 / (1.0 + Math.exp(-z));
    }

    private static double logOf(double p) {
        return Math.log(Math.max(p, 1e-15));
    }
}

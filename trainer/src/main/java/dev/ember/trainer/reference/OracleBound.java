package dev.ember.trainer.reference;

import dev.ember.trainer.data.Batch;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.data.CriteoSchema;
import dev.ember.trainer.data.DataPart;
import dev.ember.trainer.data.gen.Auc;
import dev.ember.trainer.data.gen.Ceilings;
import dev.ember.trainer.data.gen.PlantedModel;
import dev.ember.trainer.data.text.CriteoLineParser;
import dev.ember.trainer.data.vocab.Vocabularies;
import dev.ember.trainer.data.vocab.Vocabulary;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;

/**
 * An upper bound on what any estimator can learn of the generator's row weights from the training
 * part: each signal row's weight is estimated by its exact posterior mean given its training
 * samples, with everything else (bias, dense weight, every other row's weight, the prior of row
 * weights) told by the generator. No estimator knows more about a row than this oracle, so the
 * held-out AUC of these estimates bounds what the data lets a model of the planted form reach.
 *
 * <p>The prior of a row's draw is the generator's: the sum of four uniforms (Irwin-Hall of order
 * 4), standardised; it is integrated on a grid of {@value #GRID} midpoints. For row r and grid
 * point g the log-likelihood sums, over r's training samples i, log sigmoid(+-(o_i + w_g)) with
 * o_i the sample's planted logit less r's true weight.
 *
 * <pre>
 * off-heap, per signal table t (ids of the converted data, rows_t):
 *   loglik  float[rows_t * GRID]   id-major: the GRID log-likelihoods of id's row
 * </pre>
 *
 * <p>As a check of the id-to-row mapping it also scores the planted logit itself and the
 * learnable ceiling's rule, which must agree with the generator's own {@link Ceilings}.
 */
public final class OracleBound {
    static final int GRID = 32;
    private static final int READ = 4096;

    /** AUCs on the held-out part: the oracle's, and the planted and learnable rules recomputed here. */
    public record Result(double oracleAuc, double plantedAuc, double learnableAuc, long trainSamples, long heldOutSamples) {
    }

    private final BinaryDataset data;
    private final Ceilings ceilings;
    private final PlantedModel model;
    private final int[] signal;
    /** Per signal table j and converted id: the true weight (NaN for an empty field). */
    private final double[][] weight;

    /**
     * @param vocabDir the vocabularies the data was converted with (one-hot, every value kept)
     */
    public OracleBound(BinaryDataset data, Path vocabDir, Ceilings ceilings) throws IOException {
        if (ceilings.drift() != 0 || ceilings.maxBag() != 1) {
            throw new IllegalArgumentException("the oracle bound needs one-hot generated data without drift (gen-data"
                    + " --bag 1 --drift 0)");
        }
        this.data = data;
        this.ceilings = ceilings;
        this.model = new PlantedModel(ceilings.seed(), ceilings.rows(), ceilings.alpha(), 0);
        this.signal = model.signalTables();
        Vocabularies vocab = Vocabularies.load(vocabDir, null);
        weight = new double[signal.length][];
        for (int j = 0; j < signal.length; j++) {
            int t = signal[j];
            Vocabulary v = vocab.table(t);
            if (v.builtWith().minCount() != 1 || v.tailBuckets() != 0 || v.head() != v.kept()) {
                throw new IllegalArgumentException("the oracle bound needs every value kept (convert with --min-count 1,"
                        + " no --cap)");
            }
            double[] w = new double[data.rows(t)];
            for (int id = 1; id <= v.kept(); id++) {
                long key = v.keyOfRank(id - 1);
                w[id] = key == CriteoLineParser.MISSING ? Double.NaN : model.weight(t, model.rowOfValue(t, key));
            }
            weight[j] = w;
        }
    }

    public Result run() {
        DataPart train = data.train();
        DataPart test = data.test();
        Batch batch = new Batch(READ);
        double[] prior = new double[GRID];
        double[][] gridWeight = new double[signal.length][GRID];
        for (int g = 0; g < GRID; g++) {
            double x = (g + 0.5) * 4.0 / GRID; // the sum of four uniforms
            prior[g] = irwinHall4(x);
            for (int j = 0; j < signal.length; j++) {
                gridWeight[j][g] = model.weightOfDraw(signal[j], (x - 2.0) * Math.sqrt(3.0));
            }
        }
        FloatBuffer[] loglik = new FloatBuffer[signal.length];
        int[][] count = new int[signal.length][];
        double[] weightSum = new double[signal.length];
        long[] occurrences = new long[signal.length];
        for (int j = 0; j < signal.length; j++) {
            long bytes = (long) data.rows(signal[j]) * GRID * Float.BYTES;
            if (bytes > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("table " + signal[j] + " has too many rows for the oracle bound");
            }
            loglik[j] = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder()).asFloatBuffer();
            count[j] = new int[data.rows(signal[j])];
        }
        int[] ids = new int[signal.length];
        for (long at = 0; at < train.samples(); at += READ) {
            int n = (int) Math.min(READ, train.samples() - at);
            data.read(train.start() + at, n, batch);
            for (int i = 0; i < n; i++) {
                double logit = plantedLogit(batch, i, ids);
                boolean click = batch.labels()[i] > 0.5f;
                for (int j = 0; j < signal.length; j++) {
                    int id = ids[j];
                    double w = weight[j][id];
                    if (Double.isNaN(w)) {
                        continue; // an empty field carries no weight
                    }
                    count[j][id]++;
                    weightSum[j] += w;
                    occurrences[j]++;
                    double offset = logit - w;
                    FloatBuffer ll = loglik[j];
                    int base = id * GRID;
                    for (int g = 0; g < GRID; g++) {
                        double z = offset + gridWeight[j][g];
                        ll.put(base + g, (float) (ll.get(base + g) + logSigmoid(click ? z : -z)));
                    }
                }
            }
        }
        long held = test.samples();
        if (held > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("held-out part too large for the oracle bound: " + held);
        }
        float[] oracle = new float[(int) held];
        float[] planted = new float[(int) held];
        float[] learnable = new float[(int) held];
        byte[] labels = new byte[(int) held];
        double[] post = new double[GRID];
        for (int at = 0; at < held; at += READ) {
            int n = (int) Math.min(READ, held - at);
            data.read(test.start() + at, n, batch);
            for (int i = 0; i < n; i++) {
                double base = model.bias() + PlantedModel.denseTerm(batch.dense()[i * CriteoSchema.DENSE]);
                double sure = base;
                double learned = base;
                double guessed = base;
                plantedLogit(batch, i, ids);
                for (int j = 0; j < signal.length; j++) {
                    int id = ids[j];
                    double w = weight[j][id];
                    if (Double.isNaN(w)) {
                        continue;
                    }
                    sure += w;
                    learned += count[j][id] >= ceilings.ceilingMinCount() ? w
                            : occurrences[j] == 0 ? 0 : weightSum[j] / occurrences[j];
                    guessed += posteriorMean(loglik[j], id * GRID, prior, gridWeight[j], post);
                }
                oracle[at + i] = (float) guessed;
                planted[at + i] = (float) sure;
                learnable[at + i] = (float) learned;
                labels[at + i] = (byte) (batch.labels()[i] > 0.5f ? 1 : 0);
            }
        }
        int h = (int) held;
        return new Result(Auc.of(oracle, labels, h), Auc.of(planted, labels, h), Auc.of(learnable, labels, h),
                train.samples(), held);
    }

    /** The planted logit of sample i (signal rows as the model weighs them); fills each signal table's id. */
    private double plantedLogit(Batch batch, int i, int[] ids) {
        double z = model.bias() + PlantedModel.denseTerm(batch.dense()[i * CriteoSchema.DENSE]);
        for (int j = 0; j < signal.length; j++) {
            int[] off = batch.offsets(signal[j]);
            if (off[i + 1] - off[i] != 1) {
                throw new IllegalStateException("sample has " + (off[i + 1] - off[i]) + " values in table " + signal[j]
                        + "; the oracle bound reads one-hot data");
            }
            ids[j] = batch.ids(signal[j])[off[i]];
            double w = weight[j][ids[j]];
            if (!Double.isNaN(w)) {
                z += w;
            }
        }
        return z;
    }

    private static double posteriorMean(FloatBuffer ll, int base, double[] prior, double[] w, double[] scratch) {
        double max = Double.NEGATIVE_INFINITY;
        for (int g = 0; g < GRID; g++) {
            scratch[g] = ll.get(base + g);
            max = Math.max(max, scratch[g]);
        }
        double num = 0;
        double den = 0;
        for (int g = 0; g < GRID; g++) {
            double p = prior[g] * Math.exp(scratch[g] - max);
            num += p * w[g];
            den += p;
        }
        return num / den;
    }

    /** Density of the sum of four independent uniforms on [0, 1] at x in [0, 4]. */
    static double irwinHall4(double x) {
        if (x < 0 || x > 4) {
            return 0;
        }
        if (x < 1) {
            return x * x * x / 6;
        }
        if (x < 2) {
            return (-3 * x * x * x + 12 * x * x - 12 * x + 4) / 6;
        }
        if (x < 3) {
            return (3 * x * x * x - 24 * x * x + 60 * x - 44) / 6;
        }
        double y = 4 - x;
        return y * y * y / 6;
    }

    private static double logSigmoid(double z) {
        return z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z));
    }
}

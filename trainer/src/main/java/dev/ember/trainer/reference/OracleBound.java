package dev.ember.trainer.reference;

import dev.ember.trainer.data.Batch;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.data.CriteoSchema;
import dev.ember.trainer.data.DataPart;
import dev.ember.trainer.data.gen.Auc;
import dev.ember.trainer.data.gen.Ceilings;
import dev.ember.trainer.data.gen.PlantedModel;
import dev.ember.trainer.data.gen.RowPosteriors;
import dev.ember.trainer.data.text.CriteoLineParser;
import dev.ember.trainer.data.vocab.Vocabularies;
import dev.ember.trainer.data.vocab.Vocabulary;
import java.io.IOException;
import java.nio.file.Path;

/**
 * An upper bound on what any estimator can learn of the generator's row weights from the training
 * part, recomputed from converted data: each signal row's weight is estimated by its exact
 * posterior mean given its training samples, with everything else (bias, dense weight, every other
 * row's weight, the prior of row weights) told by the generator. No estimator knows more about a
 * row than this oracle, so the held-out AUC of these estimates bounds what the data lets a model of
 * the planted form reach. It is the generator's learnable ceiling ({@link Ceilings#learnableAuc()}),
 * computed by the same {@link RowPosteriors} from the converted ids instead of the generator's rows:
 * the two agree when conversion keeps every row apart.
 *
 * <p>Only the held-out part's ids get a posterior (their sums live off-heap in {@link RowPosteriors}).
 * As a check of the id-to-row mapping it also scores the planted logit itself and the true weights
 * of seen rows, which must agree with the generator's own {@link Ceilings}.
 */
public final class OracleBound {
    private static final int READ = 4096;

    /**
     * AUCs on the held-out part: the oracle's, and the planted and true-weights-of-seen-rows rules
     * recomputed here.
     */
    public record Result(double oracleAuc, double plantedAuc, double trueWeightsOfSeenRowsAuc, long trainSamples,
                         long heldOutSamples) {
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
        long held = test.samples();
        if (held > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("held-out part too large for the oracle bound: " + held);
        }
        Batch batch = new Batch(READ);
        int[] ids = new int[signal.length];
        RowPosteriors[] posteriors = new RowPosteriors[signal.length];
        RowPosteriors.Scratch[] scratch = new RowPosteriors.Scratch[signal.length];
        for (int j = 0; j < signal.length; j++) {
            posteriors[j] = new RowPosteriors(model, signal[j], data.rows(signal[j]));
            scratch[j] = new RowPosteriors.Scratch();
        }
        for (long at = 0; at < held; at += READ) {
            int n = (int) Math.min(READ, held - at);
            data.read(test.start() + at, n, batch);
            for (int i = 0; i < n; i++) {
                plantedLogit(batch, i, ids);
                for (int j = 0; j < signal.length; j++) {
                    if (!Double.isNaN(weight[j][ids[j]])) {
                        posteriors[j].mark(ids[j]);
                    }
                }
            }
        }
        for (RowPosteriors p : posteriors) {
            p.seal();
        }
        double[] weightSum = new double[signal.length];
        long[] occurrences = new long[signal.length];
        for (long at = 0; at < train.samples(); at += READ) {
            int n = (int) Math.min(READ, train.samples() - at);
            data.read(train.start() + at, n, batch);
            for (int i = 0; i < n; i++) {
                double logit = plantedLogit(batch, i, ids);
                boolean click = batch.labels()[i] > 0.5f;
                for (int j = 0; j < signal.length; j++) {
                    double w = weight[j][ids[j]];
                    if (Double.isNaN(w)) {
                        continue; // an empty field carries no weight
                    }
                    weightSum[j] += w;
                    occurrences[j]++;
                    posteriors[j].add(scratch[j], ids[j], logit - w, 1.0, click, 1);
                }
            }
        }
        for (int j = 0; j < signal.length; j++) {
            posteriors[j].flush(scratch[j]);
            posteriors[j].computeMeans(0, posteriors[j].slots());
        }
        float[] oracle = new float[(int) held];
        float[] planted = new float[(int) held];
        float[] seen = new float[(int) held];
        byte[] labels = new byte[(int) held];
        int k = ceilings.trueWeightsMinCount();
        for (int at = 0; at < held; at += READ) {
            int n = (int) Math.min(READ, held - at);
            data.read(test.start() + at, n, batch);
            for (int i = 0; i < n; i++) {
                double base = model.bias() + PlantedModel.denseTerm(batch.dense()[i * CriteoSchema.DENSE]);
                double sure = base;
                double known = base;
                double guessed = base;
                plantedLogit(batch, i, ids);
                for (int j = 0; j < signal.length; j++) {
                    int id = ids[j];
                    double w = weight[j][id];
                    if (Double.isNaN(w)) {
                        continue;
                    }
                    sure += w;
                    known += posteriors[j].count(id) >= k ? w
                            : occurrences[j] == 0 ? 0 : weightSum[j] / occurrences[j];
                    guessed += posteriors[j].mean(id);
                }
                oracle[at + i] = (float) guessed;
                planted[at + i] = (float) sure;
                seen[at + i] = (float) known;
                labels[at + i] = (byte) (batch.labels()[i] > 0.5f ? 1 : 0);
            }
        }
        int h = (int) held;
        return new Result(Auc.of(oracle, labels, h), Auc.of(planted, labels, h), Auc.of(seen, labels, h),
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
}

package dev.ember.trainer.reference;

import dev.ember.trainer.data.Batch;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.data.CriteoSchema;
import dev.ember.trainer.data.DataPart;
import dev.ember.trainer.data.convert.ConvertResult;
import dev.ember.trainer.data.convert.ConvertSettings;
import dev.ember.trainer.data.convert.Converter;
import dev.ember.trainer.data.gen.Auc;
import dev.ember.trainer.data.gen.Ceilings;
import dev.ember.trainer.data.gen.GenSettings;
import dev.ember.trainer.data.gen.Generator;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reference against a plain full-batch fit of the same objective (majorise-minimise steps,
 * each guaranteed to descend, run to convergence): the per-sample Adagrad fit reaches the same
 * penalised loss and the same held-out AUC, and both sit below the generator's planted ceiling.
 */
class LogisticReferenceTest {
    static final double PRIOR = 0.37;

    @TempDir
    static Path dir;
    static BinaryDataset data;
    static Ceilings ceilings;
    static Path converted;

    @BeforeAll
    static void generate() throws IOException {
        Path tsv = dir.resolve("g.tsv");
        ceilings = Generator.run(GenSettings.defaults(tsv, 8_000, 21).withScale(0.0005).withThreads(2));
        ConvertResult r = new Converter(ConvertSettings.defaults(tsv).withThreads(2)).run();
        converted = r.outDir();
        data = BinaryDataset.open(r.outDir().resolve(BinaryDataset.DATA_FILE));
    }

    /** One sample as plain arrays. */
    private record Sample(double y, double[] x, int[][] ids) {
    }

    private static List<Sample> samples(DataPart part) {
        List<Sample> out = new ArrayList<>();
        Batch b = new Batch((int) part.samples());
        data.read(part.start(), (int) part.samples(), b);
        for (int i = 0; i < b.size(); i++) {
            double[] x = new double[CriteoSchema.DENSE];
            for (int d = 0; d < x.length; d++) {
                x[d] = b.dense()[i * x.length + d];
            }
            int[][] ids = new int[CriteoSchema.TABLES][];
            for (int t = 0; t < ids.length; t++) {
                int[] off = b.offsets(t);
                ids[t] = java.util.Arrays.copyOfRange(b.ids(t), off[i], off[i + 1]);
            }
            out.add(new Sample(b.labels()[i], x, ids));
        }
        return out;
    }

    /** Parameters as one array: bias, dense weights, then each table's rows. */
    private static final class Params {
        final int[] base = new int[CriteoSchema.TABLES];
        final double[] w;

        Params() {
            int n = 1 + CriteoSchema.DENSE;
            for (int t = 0; t < base.length; t++) {
                base[t] = n;
                n += Math.max(1, data.rows(t));
            }
            w = new double[n];
        }

        double logit(Sample s) {
            double z = w[0];
            for (int d = 0; d < s.x.length; d++) {
                z += w[1 + d] * s.x[d];
            }
            for (int t = 0; t < s.ids.length; t++) {
                for (int r : s.ids[t]) {
                    z += w[base[t] + r];
                }
            }
            return z;
        }
    }

    private static double objective(Params p, List<Sample> train) {
        double sum = 0;
        for (Sample s : train) {
            double q = 1 / (1 + Math.exp(-p.logit(s)));
            sum -= s.y > 0.5 ? Math.log(q) : Math.log(1 - q);
        }
        for (int j = 1 + CriteoSchema.DENSE; j < p.w.length; j++) {
            sum += p.w[j] * p.w[j] / (2 * PRIOR * PRIOR);
        }
        return sum / train.size();
    }

    /** Full-batch majorise-minimise: H <= 0.25 * k * diag(sum x^2) + penalty, k = features a sample holds. */
    private static Params plainFit(List<Sample> train, int iterations) {
        Params p = new Params();
        int n = p.w.length;
        double[] curvature = new double[n];
        int k = 1 + CriteoSchema.DENSE + CriteoSchema.TABLES;
        for (Sample s : train) {
            curvature[0] += 1;
            for (int d = 0; d < s.x.length; d++) {
                curvature[1 + d] += s.x[d] * s.x[d];
            }
            for (int t = 0; t < s.ids.length; t++) {
                for (int r : s.ids[t]) {
                    curvature[p.base[t] + r] += 1;
                }
            }
        }
        double penalty = 1 / (PRIOR * PRIOR);
        for (int j = 0; j < n; j++) {
            curvature[j] = 0.25 * k * curvature[j] + (j > CriteoSchema.DENSE ? penalty : 0) + 1e-12;
        }
        double[] g = new double[n];
        for (int it = 0; it < iterations; it++) {
            java.util.Arrays.fill(g, 0);
            for (Sample s : train) {
                double e = 1 / (1 + Math.exp(-p.logit(s))) - s.y;
                g[0] += e;
                for (int d = 0; d < s.x.length; d++) {
                    g[1 + d] += e * s.x[d];
                }
                for (int t = 0; t < s.ids.length; t++) {
                    for (int r : s.ids[t]) {
                        g[p.base[t] + r] += e;
                    }
                }
            }
            for (int j = 0; j < n; j++) {
                double gj = g[j] + (j > CriteoSchema.DENSE ? penalty * p.w[j] : 0);
                p.w[j] -= gj / curvature[j];
            }
        }
        return p;
    }

    private static double auc(Params p, List<Sample> test) {
        float[] scores = new float[test.size()];
        byte[] labels = new byte[test.size()];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = (float) p.logit(test.get(i));
            labels[i] = (byte) (test.get(i).y > 0.5 ? 1 : 0);
        }
        return Auc.of(scores, labels, scores.length);
    }

    @Test
    void perSampleAdagradReachesTheFullBatchOptimumOfTheSameObjective() {
        List<Sample> train = samples(data.train());
        List<Sample> test = samples(data.test());
        Params plain = plainFit(train, 3000);
        LogisticReference ref = new LogisticReference(data, new LogisticReference.Settings(30, PRIOR, 0.1, 0));
        LogisticReference.Epoch last = ref.fit(e -> { });
        Params fitted = new Params();
        fitted.w[0] = ref.bias();
        for (int d = 0; d < CriteoSchema.DENSE; d++) {
            fitted.w[1 + d] = ref.denseWeight(d);
        }
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            for (int r = 0; r < Math.max(1, data.rows(t)); r++) {
                fitted.w[fitted.base[t] + r] = ref.rowWeight(t, r);
            }
        }
        double best = objective(plain, train);
        double got = objective(fitted, train);
        System.out.printf("objective: full-batch %.6f, reference %.6f; held-out AUC: full-batch %.4f, reference %.4f%n", best, got,
                auc(plain, test), last.auc());
        assertTrue(got <= best * 1.002, "reference objective " + got + " within 0.2% of the full-batch optimum " + best);
        assertEquals(auc(plain, test), last.auc(), 0.005, "held-out AUC of the two fits");
        assertEquals(auc(fitted, test), last.auc(), 1e-6, "the reference scores the held-out part with its weights");
        assertTrue(last.auc() > 0.6 && last.auc() < ceilings.plantedAuc(),
                "AUC " + last.auc() + " above chance and below the planted ceiling " + ceilings.plantedAuc());
    }

    @Test
    void theOracleBoundIsTheGeneratorsLearnableCeilingAndLiesBetweenTheReferenceAndThePlantedAuc() throws IOException {
        OracleBound.Result r = new OracleBound(data, converted.resolve("vocab"), ceilings).run();
        // the id -> generator row mapping is right when the planted and seen-rows rules score as the generator's
        assertEquals(ceilings.plantedAuc(), r.plantedAuc(), 1e-6, "planted AUC recomputed from the converted data");
        assertEquals(ceilings.trueWeightsOfSeenRowsAuc(), r.trueWeightsOfSeenRowsAuc(), 1e-6,
                "true weights of seen rows recomputed from the converted data");
        assertEquals(ceilings.learnableAuc(), r.oracleAuc(), 1e-12, "the same posterior means from converted ids");
        double reference = new LogisticReference(data, new LogisticReference.Settings(10, PRIOR, 0.1, 0)).fit(e -> { }).auc();
        System.out.printf("oracle %.4f, reference %.4f, learnable %.4f, planted %.4f%n", r.oracleAuc(), reference,
                ceilings.learnableAuc(), ceilings.plantedAuc());
        assertTrue(r.oracleAuc() > reference - 0.005, "the oracle knows more than the reference: " + r.oracleAuc() + " vs "
                + reference);
        assertTrue(r.oracleAuc() < r.plantedAuc(), "the oracle estimates, the planted logit knows: " + r.oracleAuc());
    }

    @Test
    void badSettingsNameTheirOption() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LogisticReference.Settings(0, 1, 0.1, 0))
                .getMessage().startsWith("--epochs"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LogisticReference.Settings(1, 0, 0.1, 0))
                .getMessage().startsWith("--prior-std"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LogisticReference.Settings(1, 1, -1, 0))
                .getMessage().startsWith("--lr"));
    }
}

package dev.ember.trainer.data.gen;

import dev.ember.trainer.data.CriteoSchema;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Posterior means against a plain float64 computation of the same grid integral (direct sums of
 * log-likelihoods, no fixed point), on random samples fed from several threads in any order.
 */
class RowPosteriorsTest {
    private static final int TABLE = 2;
    private static final PlantedModel MODEL = new PlantedModel(7, CriteoSchema.kaggleRows(0.01), PlantedModel.defaultAlpha(7), 0);

    /** One training sample of one row. */
    private record Sample(int row, double rest, double coef, boolean click, int entries) {
    }

    private static List<Sample> samples(int space, int n, long seed) {
        Random r = new Random(seed);
        List<Sample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // popular rows (small numbers) often, like the generator's Zipf rows
            int row = (int) Math.min(space - 1, (long) Math.floor(Math.pow(space, r.nextDouble())) - 1);
            int bag = 1 + r.nextInt(3);
            int m = 1 + r.nextInt(bag);
            out.add(new Sample(row, r.nextGaussian() - 1.2, bag == 1 ? 1.0 : (double) m / bag, r.nextDouble() < 0.3, m));
        }
        return out;
    }

    private static double plainMean(List<Sample> of) {
        return plainMean(MODEL, TABLE, of.stream().map(s -> new double[] {s.rest, s.coef, s.click ? 1 : 0}).toList());
    }

    /**
     * The posterior mean of a row's weight in table {@code t} as {@link RowPosteriors} defines it,
     * in plain doubles, from its samples {@code {rest of the logit, coefficient, label}}.
     */
    static double plainMean(PlantedModel model, int t, List<double[]> of) {
        double num = 0;
        double den = 0;
        double[] ll = new double[RowPosteriors.GRID];
        double max = Double.NEGATIVE_INFINITY;
        for (int g = 0; g < ll.length; g++) {
            double w = model.weightOfDraw(t, ((g + 0.5) * 4.0 / ll.length - 2.0) * Math.sqrt(3.0));
            for (double[] s : of) {
                double p = 1 / (1 + Math.exp(-(s[0] + s[1] * w)));
                ll[g] += Math.log(s[2] > 0 ? p : 1 - p);
            }
            max = Math.max(max, ll[g]);
        }
        for (int g = 0; g < ll.length; g++) {
            double x = (g + 0.5) * 4.0 / ll.length;
            double w = model.weightOfDraw(t, (x - 2.0) * Math.sqrt(3.0));
            double p = RowPosteriors.irwinHall4(x) * Math.exp(ll[g] - max);
            num += p * w;
            den += p;
        }
        return num / den;
    }

    private static RowPosteriors fed(List<Sample> samples, int space, boolean[] marked, int threads) throws Exception {
        RowPosteriors p = new RowPosteriors(MODEL, TABLE, space);
        for (int row = 0; row < space; row++) {
            if (marked[row]) {
                p.mark(row);
            }
        }
        p.seal();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            int part = (samples.size() + threads - 1) / threads;
            for (int k = 0; k < threads; k++) {
                List<Sample> mine = samples.subList(k * part, Math.min(samples.size(), (k + 1) * part));
                done.add(pool.submit(() -> {
                    RowPosteriors.Scratch s = new RowPosteriors.Scratch();
                    for (int i = 0; i < mine.size(); i++) {
                        Sample x = mine.get(i);
                        p.add(s, x.row, x.rest, x.coef, x.click, x.entries);
                        if (i % 997 == 0) {
                            p.flush(s);
                        }
                    }
                    p.flush(s);
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        p.computeMeans(0, p.slots() / 2);
        p.computeMeans(p.slots() / 2, p.slots());
        return p;
    }

    @Test
    void meansAreThePlainGridIntegralWhateverTheThreadsAndOrder() throws Exception {
        int space = 6000;
        List<Sample> samples = samples(space, 60_000, 11);
        Random r = new Random(12);
        boolean[] marked = new boolean[space];
        for (int row = 0; row < space; row++) {
            marked[row] = row < 1500 || r.nextInt(3) == 0; // more than HOT slots: local and shared sums both used
        }
        RowPosteriors one = fed(samples, space, marked, 1);
        List<Sample> shuffled = new ArrayList<>(samples);
        Collections.shuffle(shuffled, new Random(13));
        RowPosteriors four = fed(shuffled, space, marked, 4);
        assertTrue(one.slots() > RowPosteriors.HOT, "slots " + one.slots());
        List<List<Sample>> byRow = new ArrayList<>();
        for (int row = 0; row < space; row++) {
            byRow.add(new ArrayList<>());
        }
        for (Sample s : samples) {
            byRow.get(s.row).add(s);
        }
        double priorMean = plainMean(List.of());
        int checked = 0;
        for (int row = 0; row < space; row++) {
            if (!marked[row]) {
                continue;
            }
            List<Sample> of = byRow.get(row);
            assertEquals(one.mean(row), four.mean(row), 0.0, "row " + row + ": the same bits whatever the order");
            assertEquals(plainMean(of), one.mean(row), 1e-8, "row " + row + " with " + of.size() + " samples");
            assertEquals(of.stream().mapToInt(Sample::entries).sum(), one.count(row), "row " + row);
            if (of.isEmpty()) {
                assertEquals(priorMean, one.mean(row), 1e-12, "a row without samples has the prior's mean");
            }
            checked++;
        }
        assertTrue(checked > 2000);
        assertTrue(Math.abs(one.mean(0) - priorMean) > 0.05, "a popular row moves away from the prior: " + one.mean(0));
        int unmarked = 1500;
        while (marked[unmarked]) {
            unmarked++;
        }
        int row = unmarked;
        assertTrue(assertThrows(IllegalStateException.class, () -> one.mean(row)).getMessage().contains("not marked"));
    }

    @Test
    void tabulatedSoftplusIsExactToATenthOfANanoNat() {
        Random r = new Random(3);
        double worst = 0;
        for (int i = 0; i < 1_000_000; i++) {
            double x = (r.nextDouble() - 0.5) * 90;
            double exact = Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
            worst = Math.max(worst, Math.abs(RowPosteriors.softplus(x) - exact));
        }
        assertTrue(worst < 1e-10, "largest error " + worst);
        assertEquals(Math.log(2), RowPosteriors.softplus(0), 1e-15);
    }

    @Test
    void thePriorIsTheSumOfFourUniforms() {
        int n = 400_000;
        double mass = 0;
        double mean = 0;
        double square = 0;
        for (int i = 0; i < n; i++) {
            double x = (i + 0.5) * 4.0 / n;
            double p = RowPosteriors.irwinHall4(x) * 4.0 / n;
            mass += p;
            mean += p * x;
            square += p * x * x;
        }
        assertEquals(1.0, mass, 1e-9, "density integrates to 1");
        assertEquals(2.0, mean, 1e-9, "mean of four uniforms");
        assertEquals(4.0 / 12, square - mean * mean, 1e-9, "variance of four uniforms");
        assertEquals(2.0 / 3, RowPosteriors.irwinHall4(2.0), 1e-12, "density at the centre");
    }

    @Test
    void onlySignalTablesHaveRowWeights() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new RowPosteriors(MODEL, 0, 10)).getMessage()
                .contains("no signal"));
    }
}

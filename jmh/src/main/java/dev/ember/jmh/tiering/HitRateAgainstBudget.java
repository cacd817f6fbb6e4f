package dev.ember.jmh.tiering;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.hotset.HotSetDiff;
import dev.ember.cache.knob.Budget;
import dev.ember.cache.knob.HotRowChooser;
import dev.ember.cache.knob.Hysteresis;
import dev.ember.cache.knob.KnobChoice;
import dev.ember.cache.knob.KnobMode;
import dev.ember.cache.popularity.DecayingCounters;
import dev.ember.cache.popularity.SamplingProfiler;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.testing.Oracle;
import dev.ember.cache.testing.ZipfWorkload;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Hit rate against budget on Criteo-Kaggle-shaped Zipf streams, with and without drift: FAE's
 * static hot set (a 5% profile of the whole input, fixed once), Ember's re-tiered one (online
 * decaying counters, the knob every {@code period} steps with hysteresis), a static set from a
 * 100% profile, and the oracle (the true top rows of the distribution in force).
 *
 * <p>Not a timing: it counts lookups. Re-tiering is applied at the step the knob hands out its
 * choice (in the store the moves then take a few steps of bounded chunks).
 *
 * <p>Usage: {@code HitRateAgainstBudget [outDir] [scale] [steps] [samplesPerStep] [halfLifeSteps]}; writes
 * {@code hit-rate-vs-budget.csv} and {@code hit-rate-vs-budget.png} into outDir.
 */
public final class HitRateAgainstBudget {
    static final double EXPONENT = 1.05;
    static final double[] BUDGETS = {0.01, 0.05, 0.10, 0.25};
    static final long SEED = 2026;

    /** Hit rates over all lookups, and over lookups of the large tables (Kaggle rows >= 1M) where placement matters. */
    record Row(String stream, double budget, double oracle, double faeStatic, double fullStatic, double ember,
               double largeOracle, double largeFae, double largeEmber, double evalMillisMean, double evalMillisMax,
               double promotionsPerEval, long promotionsMax) {
    }

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args.length > 0 ? args[0] : "target/tiering");
        double scale = args.length > 1 ? Double.parseDouble(args[1]) : 1.0;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 3_000;
        int samples = args.length > 3 ? Integer.parseInt(args[3]) : 2_048;
        halfLife = args.length > 4 ? Double.parseDouble(args[4]) : 150;
        Files.createDirectories(out);
        List<TableSpec> tables = KaggleTables.tables(scale, Optimizer.SGD);
        long rows = tables.stream().mapToLong(TableSpec::rows).sum();
        System.out.printf(Locale.ROOT, "%d tables, %d rows, exponent %.2f, %d steps x %d samples; Ember: half-life %.0f"
                + " steps, knob every %d steps, %s%n", tables.size(), rows, EXPONENT, steps, samples, halfLife,
                PERIOD_STEPS, Hysteresis.DEFAULT);
        List<Row> results = new ArrayList<>();
        results.addAll(run(tables, steps, samples, false));
        results.addAll(run(tables, steps, samples, true));
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out.resolve("hit-rate-vs-budget.csv")))) {
            w.println("stream,budget_pct_rows,oracle,fae_static_5pct,static_100pct,ember_retiered,ember_over_oracle,"
                    + "fae_over_oracle,large_oracle,large_fae_static,large_ember,knob_eval_ms_mean,knob_eval_ms_max,"
                    + "promotions_per_eval_measured,promotions_max_measured");
            for (Row r : results) {
                w.printf(Locale.ROOT, "%s,%.0f,%.4f,%.4f,%.4f,%.4f,%.3f,%.3f,%.4f,%.4f,%.4f,%.1f,%.1f,%.0f,%d%n", r.stream(),
                        r.budget() * 100, r.oracle(), r.faeStatic(), r.fullStatic(), r.ember(), r.ember() / r.oracle(),
                        r.faeStatic() / r.oracle(), r.largeOracle(), r.largeFae(), r.largeEmber(), r.evalMillisMean(),
                        r.evalMillisMax(), r.promotionsPerEval(), r.promotionsMax());
            }
        }
        plot(results, out.resolve("hit-rate-vs-budget.png"));
        writeTimeline(out, steps);
        for (Row r : results) {
            System.out.printf(Locale.ROOT, "%-8s budget %4.0f%%: oracle %.3f  FAE static %.3f  static(100%%) %.3f  Ember %.3f"
                    + "  (Ember/oracle %.3f, FAE/oracle %.3f; large tables: oracle %.3f FAE %.3f Ember %.3f;"
                    + " knob %.0f ms mean, %.0f max; %.0f promotions per evaluation, %d max)%n",
                    r.stream(), r.budget() * 100, r.oracle(), r.faeStatic(), r.fullStatic(), r.ember(),
                    r.ember() / r.oracle(), r.faeStatic() / r.oracle(), r.largeOracle(), r.largeFae(), r.largeEmber(),
                    r.evalMillisMean(), r.evalMillisMax(), r.promotionsPerEval(), r.promotionsMax());
        }
    }

    /**
     * One stream: a profiling pass (FAE at 5%, and 100%), then the measured pass. Measured over
     * the second half of the stream; with drift, the hot rows move at the half and the
     * measurement starts {@code steps / 6} steps later (the time Ember is given to re-tier).
     */
    static List<Row> run(List<TableSpec> tables, int steps, int samples, boolean drift) {
        int driftAt = drift ? steps / 2 : Integer.MAX_VALUE;
        int measureFrom = drift ? steps / 2 + steps / 6 : steps / 2;
        String name = drift ? "drift" : "stable";
        int n = BUDGETS.length;
        long[] budgetBytes = new long[n];
        int[][] oracleK = new int[n][];
        for (int b = 0; b < n; b++) {
            budgetBytes[b] = Budget.ofFraction(BUDGETS[b]).resolve(tables);
            oracleK[b] = Oracle.topRanks(tables, EXPONENT, budgetBytes[b]);
        }

        // Pass 1: FAE's profile of the whole input (5%), and a full count for the best static set.
        long t0 = System.nanoTime();
        ZipfWorkload input = new ZipfWorkload(tables, EXPONENT, SEED);
        PooledBatch[] batch = input.newBatch(samples);
        SamplingProfiler fae = new SamplingProfiler(SamplingProfiler.DEFAULT_RATE, SEED);
        DecayingCounters faeCounts = new DecayingCounters(tables, 1.0);
        DecayingCounters fullCounts = new DecayingCounters(tables, 1.0);
        long sampleIndex = 0;
        for (int s = 0; s < steps; s++) {
            if (s == driftAt) {
                input.drift();
            }
            input.fill(batch, samples);
            fullCounts.record(batch);
            for (int i = 0; i < samples; i++, sampleIndex++) {
                if (fae.sampled(sampleIndex)) {
                    for (int t = 0; t < tables.size(); t++) {
                        faeCounts.record(t, batch[t].id(i));
                    }
                }
            }
        }
        HotSet empty = HotSet.empty(tables);
        HotRowChooser plain = new HotRowChooser(Hysteresis.NONE);
        HotSet[] faeSets = new HotSet[n];
        HotSet[] fullSets = new HotSet[n];
        for (int b = 0; b < n; b++) {
            faeSets[b] = plain.choose(faeCounts, empty, budgetBytes[b], KnobMode.CACHE).hotSet();
            fullSets[b] = plain.choose(fullCounts, empty, budgetBytes[b], KnobMode.CACHE).hotSet();
        }
        System.out.printf(Locale.ROOT, "%s: profiled in %.1f s%n", name, (System.nanoTime() - t0) / 1e9);

        // Pass 2: the same stream, served; Ember's counters and knob per budget; hits counted.
        ZipfWorkload served = new ZipfWorkload(tables, EXPONENT, SEED);
        DecayingCounters counters = new DecayingCounters(tables, DecayingCounters.decayForHalfLife(halfLife));
        HotRowChooser knob = new HotRowChooser(Hysteresis.DEFAULT);
        HotSet[] ember = new HotSet[n];
        java.util.Arrays.fill(ember, empty);
        long lookups = 0;
        long largeLookups = 0;
        long[] oracleHits = new long[n];
        long[] faeHits = new long[n];
        long[] fullHits = new long[n];
        long[] emberHits = new long[n];
        long[][] largeHits = new long[3][n]; // oracle, FAE, Ember on the large tables
        boolean[] large = new boolean[tables.size()];
        for (int t = 0; t < large.length; t++) {
            large[t] = KaggleTables.ROWS[t] >= 1_000_000;
        }
        double[] evalSum = new double[n];
        double[] evalMax = new double[n];
        int[] evals = new int[n];
        long[] promotions = new long[n];
        long[] promotionsMax = new long[n];
        int measuredEvals = 0;
        for (int s = 0; s < steps; s++) {
            if (s == driftAt) {
                served.drift();
            }
            served.fill(batch, samples);
            if (drift) {
                if (s % BUCKET_STEPS == 0) {
                    TIMELINE.add(new long[4]);
                }
                long[] bucket = TIMELINE.get(TIMELINE.size() - 1);
                int b = TIMELINE_BUDGET;
                for (int t = 0; t < tables.size(); t++) {
                    for (int i = 0; i < samples; i++) {
                        long id = batch[t].id(i);
                        bucket[1] += served.rank(t, i) <= oracleK[b][t] ? 1 : 0;
                        bucket[2] += faeSets[b].contains(t, id) ? 1 : 0;
                        bucket[3] += ember[b].contains(t, id) ? 1 : 0;
                    }
                }
                bucket[0] += (long) tables.size() * samples;
            }
            if (s >= measureFrom) {
                for (int t = 0; t < tables.size(); t++) {
                    for (int i = 0; i < samples; i++) {
                        long id = batch[t].id(i);
                        int rank = served.rank(t, i);
                        for (int b = 0; b < n; b++) {
                            int o = rank <= oracleK[b][t] ? 1 : 0;
                            int f = faeSets[b].contains(t, id) ? 1 : 0;
                            int e = ember[b].contains(t, id) ? 1 : 0;
                            oracleHits[b] += o;
                            faeHits[b] += f;
                            fullHits[b] += fullSets[b].contains(t, id) ? 1 : 0;
                            emberHits[b] += e;
                            if (large[t]) {
                                largeHits[0][b] += o;
                                largeHits[1][b] += f;
                                largeHits[2][b] += e;
                            }
                        }
                    }
                    largeLookups += large[t] ? samples : 0;
                }
                lookups += (long) tables.size() * samples;
            }
            counters.record(batch);
            counters.advanceTo(s + 1);
            if ((s + 1) % PERIOD_STEPS == 0) {
                measuredEvals += s >= measureFrom ? 1 : 0;
                for (int b = 0; b < n; b++) {
                    KnobChoice c = knob.choose(counters, ember[b], budgetBytes[b], KnobMode.CACHE);
                    if (s >= measureFrom) {
                        long p = HotSetDiff.between(ember[b], c.hotSet()).promoteCount();
                        promotions[b] += p;
                        promotionsMax[b] = Math.max(promotionsMax[b], p);
                    }
                    ember[b] = c.hotSet();
                    double ms = c.evaluationNanos() / 1e6;
                    evalSum[b] += ms;
                    evalMax[b] = Math.max(evalMax[b], ms);
                    evals[b]++;
                }
            }
        }
        System.out.printf(Locale.ROOT, "%s: served and re-tiered in %.1f s%n", name, (System.nanoTime() - t0) / 1e9);
        List<Row> rowsOut = new ArrayList<>();
        for (int b = 0; b < n; b++) {
            rowsOut.add(new Row(name, BUDGETS[b], (double) oracleHits[b] / lookups, (double) faeHits[b] / lookups,
                    (double) fullHits[b] / lookups, (double) emberHits[b] / lookups, (double) largeHits[0][b] / largeLookups,
                    (double) largeHits[1][b] / largeLookups, (double) largeHits[2][b] / largeLookups,
                    evalSum[b] / evals[b], evalMax[b], (double) promotions[b] / Math.max(1, measuredEvals), promotionsMax[b]));
        }
        return rowsOut;
    }

    static double halfLife = 150;
    static final int BUCKET_STEPS = 50;
    static final int TIMELINE_BUDGET = 1; // index into BUDGETS: 5%
    /** Drift stream, per bucket of BUCKET_STEPS steps at the 5% budget: [lookups, oracle, FAE, Ember] hits. */
    static final List<long[]> TIMELINE = new ArrayList<>();
    static final int PERIOD_STEPS = 100;

    static void plot(List<Row> rows, Path png) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(560)
                .title("Hit rate against budget (Criteo Kaggle shape, Zipf 1.05)")
                .xAxisTitle("hot-tier budget, % of all rows").yAxisTitle("hit rate (share of lookups)").build();
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideSE);
        for (String stream : new String[] {"stable", "drift"}) {
            List<Row> r = rows.stream().filter(x -> x.stream().equals(stream)).toList();
            double[] x = r.stream().mapToDouble(v -> v.budget() * 100).toArray();
            add(chart, "oracle (" + stream + ")", x, r.stream().mapToDouble(Row::oracle).toArray(), stream);
            add(chart, "Ember re-tiered (" + stream + ")", x, r.stream().mapToDouble(Row::ember).toArray(), stream);
            add(chart, "FAE static 5% profile (" + stream + ")", x, r.stream().mapToDouble(Row::faeStatic).toArray(), stream);
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** The drift stream's hit rate over time at the 5% budget: CSV and PNG. */
    static void writeTimeline(Path out, int steps) throws IOException {
        int n = TIMELINE.size();
        double[] x = new double[n];
        double[][] y = new double[3][n];
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out.resolve("hit-rate-drift-timeline.csv")))) {
            w.println("step,oracle,fae_static_5pct,ember_retiered");
            for (int i = 0; i < n; i++) {
                long[] b = TIMELINE.get(i);
                x[i] = (double) i * BUCKET_STEPS;
                for (int k = 0; k < 3; k++) {
                    y[k][i] = (double) b[k + 1] / b[0];
                }
                w.printf(Locale.ROOT, "%d,%.4f,%.4f,%.4f%n", i * BUCKET_STEPS, y[0][i], y[1][i], y[2][i]);
            }
        }
        XYChart chart = new XYChartBuilder().width(900).height(500)
                .title("Hit rate over time, hot rows move at step " + steps / 2 + " (budget 5% of rows)")
                .xAxisTitle("step (" + BUCKET_STEPS + "-step buckets)").yAxisTitle("hit rate").build();
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideSW);
        chart.addSeries("oracle", x, y[0]).setMarker(SeriesMarkers.NONE);
        chart.addSeries("FAE static 5% profile", x, y[1]).setMarker(SeriesMarkers.NONE);
        chart.addSeries("Ember re-tiered", x, y[2]).setMarker(SeriesMarkers.NONE);
        BitmapEncoder.saveBitmap(chart, out.resolve("hit-rate-drift-timeline.png").toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static void add(XYChart chart, String name, double[] x, double[] y, String stream) {
        XYSeries s = chart.addSeries(name, x, y);
        s.setMarker(stream.equals("drift") ? SeriesMarkers.DIAMOND : SeriesMarkers.CIRCLE);
        if (stream.equals("drift")) {
            s.setLineStyle(org.knowm.xchart.style.lines.SeriesLines.DASH_DASH);
        }
    }
}

package dev.ember.trainer.cli;

import dev.ember.trainer.data.convert.ConvertSettings;
import dev.ember.trainer.data.gen.Ceilings;
import dev.ember.trainer.data.gen.GenSettings;
import dev.ember.trainer.data.gen.Generator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code ember gen-data}: synthetic Criteo-format data with known ceilings. */
@Command(name = "gen-data", mixinStandardHelpOptions = true,
        description = {"Writes Criteo-format TSV with the Kaggle table sizes, per-table Zipf skew and labels from a "
                + "planted model, plus <out>.json with the AUC ceilings of the held-out part: planted (every weight known) and "
                + "learnable (each signal row's posterior-mean weight given its training samples, the rest known)."})
public final class GenDataCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "TSV to write (.gz: gzip)")
    Path out;

    @Option(names = "--samples", required = true, paramLabel = "N", description = "lines to write")
    long samples;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--drift", paramLabel = "F", defaultValue = "0",
            description = "fraction of each table's ranks whose rows change half-way through (default: 0)")
    double drift;

    @Option(names = "--alpha", paramLabel = "A",
            description = "one Zipf exponent for all tables (default: per table in [1.05, 1.2])")
    Double alpha;

    @Option(names = "--scale", paramLabel = "X", defaultValue = "1",
            description = "table sizes are the Kaggle ones times X (default: 1)")
    double scale;

    @Option(names = "--threads", paramLabel = "N", description = "generating threads (default: all cores)")
    Integer threads;

    @Option(names = "--test-fraction", paramLabel = "F", defaultValue = "0.142857142857142857",
            description = "held-out part the ceilings are measured on (default: 1/7, as convert)")
    double testFraction;

    @Option(names = "--true-weights-min-count", paramLabel = "K", defaultValue = "5",
            description = "trueWeightsOfSeenRowsAuc (an older, looser ceiling kept beside the learnable one) knows the"
                    + " true weight of rows seen >= K times in training (default: ${DEFAULT-VALUE})")
    int minCount;

    @Option(names = "--bag", paramLabel = "N", defaultValue = "1",
            description = "each categorical field holds 1..N comma-separated values (multi-hot; convert with "
                    + "--multi-hot --max-bag N); default 1: standard Criteo")
    int bag;

    @Option(names = "--no-progress", description = "no progress bar")
    boolean noProgress;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        List<String> bad = new ArrayList<>();
        if (samples < 1) {
            bad.add("--samples must be >= 1, got " + samples);
        }
        if (!(drift >= 0 && drift <= 1)) {
            bad.add("--drift must be in [0, 1], got " + drift);
        }
        if (alpha != null && !(alpha > 0 && alpha <= 10)) {
            bad.add("--alpha must be in (0, 10], got " + alpha);
        }
        if (!(scale > 0 && scale <= 100)) {
            bad.add("--scale must be in (0, 100], got " + scale);
        }
        if (threads != null && threads < 1) {
            bad.add("--threads must be >= 1, got " + threads);
        }
        if (!(testFraction > 0 && testFraction < 1)) {
            bad.add("--test-fraction must be in (0, 1), got " + testFraction);
        }
        if (bag < 1 || bag > 64) {
            bad.add("--bag must be in [1, 64], got " + bag);
        }
        if (minCount < 1) {
            bad.add("--true-weights-min-count must be >= 1, got " + minCount);
        }
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            bad.add("--out: folder does not exist: " + parent);
        }
        if (!bad.isEmpty()) {
            bad.forEach(m -> err.println("ember gen-data: " + m));
            return EmberCli.EXIT_USAGE;
        }
        GenSettings s = new GenSettings(out, samples, seed, drift, alpha == null ? Double.NaN : alpha, scale,
                threads != null ? threads : Runtime.getRuntime().availableProcessors(), testFraction, minCount,
                !noProgress, bag);
        try {
            long t0 = System.nanoTime();
            Ceilings c = Generator.run(s);
            double sec = (System.nanoTime() - t0) / 1e9;
            PrintWriter o = spec.commandLine().getOut();
            o.printf("wrote %,d samples to %s in %.1f s (click rate %.3f)%n", samples, out, sec, c.clickRate());
            o.printf("held-out part: last %,d samples; planted AUC %.4f, learnable AUC %.4f (posterior-mean row weights);"
                            + " true weights of rows seen >= %d times %.4f%n", c.heldOutSamples(), c.plantedAuc(),
                    c.learnableAuc(), c.trueWeightsMinCount(), c.trueWeightsOfSeenRowsAuc());
            o.println("ceilings: " + s.ceilingsFile());
            if (bag > 1) {
                o.printf("multi-hot: convert with --multi-hot --max-bag %d%n", bag);
            }
            if (Math.abs(testFraction - ConvertSettings.DEFAULT_TEST_FRACTION) > 1e-12) {
                o.printf("note: convert with --test-fraction %s to hold out the same part%n", testFraction);
            }
            return 0;
        } catch (IOException | RuntimeException e) {
            err.println("ember gen-data: " + e.getMessage());
            return 1;
        }
    }
}

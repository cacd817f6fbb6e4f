package dev.ember.trainer.cli;

import dev.ember.trainer.data.CriteoSchema;
import dev.ember.trainer.data.convert.ConvertResult;
import dev.ember.trainer.data.convert.ConvertSettings;
import dev.ember.trainer.data.convert.Converter;
import dev.ember.trainer.data.convert.Malformed;
import dev.ember.trainer.data.convert.MalformedLineException;
import dev.ember.trainer.data.vocab.VocabularyOrder;
import dev.ember.trainer.data.vocab.VocabularySettings;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code ember convert}: Criteo TSV to the binary form plus vocabularies. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Converts Criteo TSV (plain or gzip) into Ember's memory-mapped binary form and builds one "
                + "vocabulary per table, in one parallel pass. Writes <input>.ember/ (or --out): data.bin, vocab/, "
                + "meta.json, malformed.tsv. A second run with the same input and settings reuses it."})
public final class ConvertCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "Criteo TSV: label, 13 ints, 26 hex fields")
    Path input;

    @Option(names = "--out", paramLabel = "DIR", description = "conversion folder (default: <FILE>.ember)")
    Path out;

    @Option(names = "--min-count", paramLabel = "N", defaultValue = "1",
            description = "values seen fewer than N times share id 0 (default: ${DEFAULT-VALUE})")
    int minCount;

    @Option(names = "--cap", paramLabel = "ROWS", defaultValue = "0",
            description = "most rows of any table; the tail hashes into the last rows/8 ids (0 = none)")
    int cap;

    @Option(names = "--cap-table", paramLabel = "T=ROWS", description = "cap of one table (0-25), overrides --cap")
    Map<Integer, Integer> capTable;

    @Option(names = "--order", paramLabel = "ORDER", defaultValue = "first",
            description = "id order: first (first appearance, as DLRM) or frequency (default: ${DEFAULT-VALUE})")
    String order;

    @Option(names = "--vocab", paramLabel = "DIR", description = "map through these vocabularies instead of building "
            + "new ones (e.g. a training conversion's vocab/ folder)")
    Path vocab;

    @Option(names = "--multi-hot", description = "categorical fields hold comma-separated bags of hex values")
    boolean multiHot;

    @Option(names = "--max-bag", paramLabel = "N", defaultValue = "64",
            description = "most values in one multi-hot field (default: ${DEFAULT-VALUE}, at most 4096)")
    int maxBag;

    @Option(names = "--strict", description = "stop at the first malformed line instead of skipping and counting")
    boolean strict;

    @Option(names = "--test-fraction", paramLabel = "F", defaultValue = "0.142857142857142857",
            description = "held-out part: the last F of the samples (default: 1/7, DLRM's Kaggle split)")
    double testFraction;

    @Option(names = "--threads", paramLabel = "N", description = "parsing threads (default: all cores)")
    Integer threads;

    @Option(names = "--force", description = "convert even when an up-to-date conversion exists")
    boolean force;

    @Option(names = "--no-progress", description = "no progress bar")
    boolean noProgress;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter outw = spec.commandLine().getOut();
        List<String> bad = new ArrayList<>();
        if (!Files.isRegularFile(input)) {
            bad.add("input file not found: " + input);
        }
        if (minCount < 1) {
            bad.add("--min-count must be >= 1, got " + minCount);
        }
        if (cap != 0 && cap < 2) {
            bad.add("--cap must be 0 (none) or >= 2, got " + cap);
        }
        int[] caps = new int[CriteoSchema.TABLES];
        java.util.Arrays.fill(caps, Math.max(cap, 0));
        if (capTable != null) {
            for (Map.Entry<Integer, Integer> e : capTable.entrySet()) {
                if (e.getKey() < 0 || e.getKey() >= CriteoSchema.TABLES) {
                    bad.add("--cap-table: table must be 0.." + (CriteoSchema.TABLES - 1) + ", got " + e.getKey());
                } else if (e.getValue() != 0 && e.getValue() < 2) {
                    bad.add("--cap-table: cap of table " + e.getKey() + " must be 0 or >= 2, got " + e.getValue());
                } else {
                    caps[e.getKey()] = e.getValue();
                }
            }
        }
        VocabularyOrder ord = null;
        switch (order.toLowerCase(java.util.Locale.ROOT)) {
            case "first" -> ord = VocabularyOrder.FIRST;
            case "frequency" -> ord = VocabularyOrder.FREQUENCY;
            default -> bad.add("--order must be first or frequency, got " + order);
        }
        if (vocab != null && !dev.ember.trainer.data.vocab.Vocabularies.existIn(vocab)) {
            bad.add("--vocab: no vocabulary files (table-00.vocab ... table-25.vocab) in " + vocab);
        }
        if (maxBag < 1 || maxBag > ConvertSettings.MAX_BAG_LIMIT) {
            bad.add("--max-bag must be in [1, " + ConvertSettings.MAX_BAG_LIMIT + "], got " + maxBag);
        }
        if (!(testFraction >= 0 && testFraction < 1)) {
            bad.add("--test-fraction must be in [0, 1), got " + testFraction);
        }
        if (threads != null && threads < 1) {
            bad.add("--threads must be >= 1, got " + threads);
        }
        if (!bad.isEmpty()) {
            bad.forEach(m -> err.println("ember convert: " + m));
            return EmberCli.EXIT_USAGE;
        }
        ConvertSettings s = new ConvertSettings(input, out != null ? out : ConvertSettings.defaultOutDir(input),
                new VocabularySettings(minCount, caps, ord), vocab, multiHot, maxBag, strict, testFraction,
                threads != null ? threads : Runtime.getRuntime().availableProcessors(), force, !noProgress);
        try {
            ConvertResult r = new Converter(s).run();
            report(outw, r);
            return 0;
        } catch (MalformedLineException e) {
            err.println("ember convert: " + e.getMessage());
            return 1;
        } catch (IOException | RuntimeException e) {
            err.println("ember convert: " + e.getMessage());
            return 1;
        }
    }

    private static void report(PrintWriter out, ConvertResult r) {
        if (r.upToDate()) {
            out.printf("%s is up to date (use --force to convert again)%n", r.outDir());
        } else {
            out.printf("converted %,d lines in %.1f s (%.1f MB/s, %,.0f samples/s)%n", r.lines(), r.seconds(),
                    r.inputBytes() / 1e6 / r.seconds(), r.samples() / r.seconds());
        }
        out.printf("samples: %,d (train %,d, held out %,d)%n", r.samples(), r.trainSamples(),
                r.samples() - r.trainSamples());
        out.printf("vocabularies: %s; rows per table: %s%n", r.vocabReused() ? "reused" : "built",
                java.util.Arrays.toString(r.rows()));
        if (r.malformed() > 0) {
            out.printf("malformed lines skipped: %,d (all listed in %s)%n", r.malformed(),
                    r.outDir().resolve("malformed.tsv"));
            for (Malformed m : r.firstMalformed()) {
                out.println("  " + m);
            }
        }
        out.println("output: " + r.outDir());
    }
}

package dev.ember.trainer.data.convert;

import dev.ember.trainer.data.vocab.VocabularySettings;

import java.nio.file.Path;

/**
 * What {@link Converter} does.
 *
 * @param input        Criteo TSV, plain or gzip
 * @param outDir       the conversion folder (data.bin, meta.json, vocab/, malformed.tsv)
 * @param vocabulary   how vocabularies are built (ignored when {@code reuseVocab} is set)
 * @param reuseVocab   a folder of vocabularies to map with instead of building them, or null
 * @param multiHot     categorical fields hold comma-separated bags
 * @param maxBag       the most ids in one multi-hot field (at most 4096)
 * @param strict       stop at the first malformed line
 * @param testFraction the held-out part: the last {@code round(n * testFraction)} samples
 * @param threads      parsing threads
 * @param force        convert even if an up-to-date conversion exists
 * @param progress     show a progress bar on stderr
 */
public record ConvertSettings(Path input, Path outDir, VocabularySettings vocabulary, Path reuseVocab,
                              boolean multiHot, int maxBag, boolean strict, double testFraction, int threads,
                              boolean force, boolean progress) {
    /** DLRM's Kaggle split holds out the last of 7 days. */
    public static final double DEFAULT_TEST_FRACTION = 1.0 / 7;
    public static final int MAX_BAG_LIMIT = 4096;

    public ConvertSettings {
        if (!(testFraction >= 0 && testFraction < 1)) {
            throw new IllegalArgumentException("test fraction must be in [0, 1), got " + testFraction
                    + " (set --test-fraction)");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads + " (set --threads)");
        }
        if (maxBag < 1 || maxBag > MAX_BAG_LIMIT) {
            throw new IllegalArgumentException("max bag must be in [1, " + MAX_BAG_LIMIT + "], got " + maxBag
                    + " (set --max-bag)");
        }
    }

    /** Defaults for {@code input}: conversion folder {@code <input>.ember} beside it. */
    public static ConvertSettings defaults(Path input) {
        return new ConvertSettings(input, defaultOutDir(input), VocabularySettings.defaults(), null, false, 64, false,
                DEFAULT_TEST_FRACTION, Runtime.getRuntime().availableProcessors(), false, false);
    }

    public static Path defaultOutDir(Path input) {
        return input.resolveSibling(input.getFileName() + ".ember");
    }

    public ConvertSettings withOutDir(Path dir) {
        return new ConvertSettings(input, dir, vocabulary, reuseVocab, multiHot, maxBag, strict, testFraction, threads,
                force, progress);
    }

    public ConvertSettings withVocabulary(VocabularySettings v) {
        return new ConvertSettings(input, outDir, v, reuseVocab, multiHot, maxBag, strict, testFraction, threads,
                force, progress);
    }

    public ConvertSettings withReuseVocab(Path dir) {
        return new ConvertSettings(input, outDir, vocabulary, dir, multiHot, maxBag, strict, testFraction, threads,
                force, progress);
    }

    public ConvertSettings withMultiHot(boolean on, int bag) {
        return new ConvertSettings(input, outDir, vocabulary, reuseVocab, on, bag, strict, testFraction, threads,
                force, progress);
    }

    public ConvertSettings withStrict(boolean on) {
        return new ConvertSettings(input, outDir, vocabulary, reuseVocab, multiHot, maxBag, on, testFraction, threads,
                force, progress);
    }

    public ConvertSettings withTestFraction(double f) {
        return new ConvertSettings(input, outDir, vocabulary, reuseVocab, multiHot, maxBag, strict, f, threads, force,
                progress);
    }

    public ConvertSettings withThreads(int n) {
        return new ConvertSettings(input, outDir, vocabulary, reuseVocab, multiHot, maxBag, strict, testFraction, n,
                force, progress);
    }

    public ConvertSettings withForce(boolean on) {
        return new ConvertSettings(input, outDir, vocabulary, reuseVocab, multiHot, maxBag, strict, testFraction,
                threads, on, progress);
    }

    public ConvertSettings withProgress(boolean on) {
        return new ConvertSettings(input, outDir, vocabulary, reuseVocab, multiHot, maxBag, strict, testFraction,
                threads, force, on);
    }
}

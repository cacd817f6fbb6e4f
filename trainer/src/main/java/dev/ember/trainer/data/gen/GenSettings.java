package dev.ember.trainer.data.gen;

import dev.ember.trainer.data.convert.ConvertSettings;

import java.nio.file.Path;

/**
 * What {@link Generator} writes.
 *
 * @param out                 the TSV file (gzip when it ends in {@code .gz}); the ceilings go to
 *                            {@code <out>.json}
 * @param samples             lines to write
 * @param seed                everything follows from it
 * @param drift               fraction of each table's ranks that move to fresh rows half-way through
 * @param alpha               one Zipf exponent for every table, or NaN for per-table ones in [1.05, 1.2]
 * @param scale               table sizes are the Kaggle ones times this
 * @param threads             generating threads
 * @param testFraction        the held-out part the ceilings are measured on (as convert splits)
 * @param trueWeightsMinCount k: {@link Ceilings#trueWeightsOfSeenRowsAuc()} knows the true weight of rows seen at
 *                            least k times in training
 * @param progress            show a progress bar on stderr
 * @param maxBag              1: standard one-hot Criteo; above 1: each categorical field holds 1..maxBag
 *                            comma-separated values (the multi-hot variant: convert with --multi-hot)
 */
public record GenSettings(Path out, long samples, long seed, double drift, double alpha, double scale, int threads,
                          double testFraction, int trueWeightsMinCount, boolean progress, int maxBag) {
    public static final int DEFAULT_TRUE_WEIGHTS_MIN_COUNT = 5;

    public GenSettings {
        if (samples < 1) {
            throw new IllegalArgumentException("samples must be >= 1, got " + samples + " (set --samples)");
        }
        if (!(drift >= 0 && drift <= 1)) {
            throw new IllegalArgumentException("drift must be in [0, 1], got " + drift + " (set --drift)");
        }
        if (!Double.isNaN(alpha) && !(alpha > 0 && alpha <= 10)) {
            throw new IllegalArgumentException("alpha must be in (0, 10], got " + alpha + " (set --alpha)");
        }
        if (!(scale > 0 && scale <= 100)) {
            throw new IllegalArgumentException("scale must be in (0, 100], got " + scale + " (set --scale)");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads + " (set --threads)");
        }
        if (!(testFraction > 0 && testFraction < 1)) {
            throw new IllegalArgumentException("test fraction must be in (0, 1), got " + testFraction
                    + " (set --test-fraction)");
        }
        if (maxBag < 1 || maxBag > 64) {
            throw new IllegalArgumentException("bag size must be in [1, 64], got " + maxBag + " (set --bag)");
        }
        if (trueWeightsMinCount < 1) {
            throw new IllegalArgumentException("true-weights min count must be >= 1, got " + trueWeightsMinCount
                    + " (set --true-weights-min-count)");
        }
    }

    public static GenSettings defaults(Path out, long samples, long seed) {
        return new GenSettings(out, samples, seed, 0, Double.NaN, 1.0, Runtime.getRuntime().availableProcessors(),
                ConvertSettings.DEFAULT_TEST_FRACTION, DEFAULT_TRUE_WEIGHTS_MIN_COUNT, false, 1);
    }

    public GenSettings withDrift(double d) {
        return new GenSettings(out, samples, seed, d, alpha, scale, threads, testFraction, trueWeightsMinCount, progress,
                maxBag);
    }

    public GenSettings withAlpha(double a) {
        return new GenSettings(out, samples, seed, drift, a, scale, threads, testFraction, trueWeightsMinCount, progress,
                maxBag);
    }

    public GenSettings withScale(double s) {
        return new GenSettings(out, samples, seed, drift, alpha, s, threads, testFraction, trueWeightsMinCount, progress,
                maxBag);
    }

    public GenSettings withThreads(int n) {
        return new GenSettings(out, samples, seed, drift, alpha, scale, n, testFraction, trueWeightsMinCount, progress,
                maxBag);
    }

    public GenSettings withProgress(boolean on) {
        return new GenSettings(out, samples, seed, drift, alpha, scale, threads, testFraction, trueWeightsMinCount, on, maxBag);
    }

    public GenSettings withTrueWeightsMinCount(int k) {
        return new GenSettings(out, samples, seed, drift, alpha, scale, threads, testFraction, k, progress, maxBag);
    }

    public GenSettings withMaxBag(int bag) {
        return new GenSettings(out, samples, seed, drift, alpha, scale, threads, testFraction, trueWeightsMinCount, progress,
                bag);
    }

    /** Samples before the held-out part. */
    public long trainSamples() {
        return samples - Math.round(samples * testFraction);
    }

    /** The first sample drawn after the popular rows change (when drift > 0). */
    public long driftAt() {
        return samples / 2;
    }

    /** The ceilings file beside {@code out}. */
    public Path ceilingsFile() {
        return out.resolveSibling(out.getFileName() + ".json");
    }
}

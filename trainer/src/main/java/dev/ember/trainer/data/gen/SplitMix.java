package dev.ember.trainer.data.gen;

/**
 * SplitMix64: a tiny, fully specified random generator, so generated data is the same on every
 * JVM. Also the integer hash ({@link #mix}) the generator keys everything with.
 */
final class SplitMix {
    private long state;

    SplitMix(long seed) {
        this.state = seed;
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** A hash of several values. */
    static long hash(long a, long b, long c) {
        return mix(mix(mix(a + 0x9E3779B97F4A7C15L) + b) + c);
    }

    long nextLong() {
        state += 0x9E3779B97F4A7C15L;
        return mix(state);
    }

    /** Uniform in [0, 1). */
    double nextDouble() {
        return (nextLong() >>> 11) * 0x1p-53;
    }

    /** Uniform in [0, n). */
    int nextInt(int n) {
        return (int) (((nextLong() >>> 33) * n) >>> 31);
    }

    /** A uniform double in [0, 1) from a hash value. */
    static double unit(long h) {
        return (h >>> 11) * 0x1p-53;
    }
}

package dev.ember.trainer.data;

/**
 * Draws a sample of a {@link DataPart} for FAE's profiler: each sample is taken with
 * probability {@code rate} (5% by default), decided by a hash of (seed, sample index), so the
 * choice is the same whatever order or batch size reads it. Fills batches with the chosen
 * samples in file order.
 */
public final class ProfileSampler {
    /** FAE's default sampling rate. */
    public static final double DEFAULT_RATE = 0.05;

    private final DataPart part;
    private final long seed;
    private final long threshold;
    private long next;

    public ProfileSampler(DataPart part, double rate, long seed) {
        if (!(rate > 0 && rate <= 1)) {
            throw new IllegalArgumentException("sampling rate must be in (0, 1], got " + rate + " (set --profile-rate)");
        }
        this.part = part;
        this.seed = seed;
        // unsigned 64-bit comparison: chosen when hash < rate * 2^64
        this.threshold = rate >= 1 ? -1L : (long) (rate * 0x1p63) << 1;
        this.next = part.start();
    }

    /** Whether sample {@code index} (of the file) is in the sample. */
    public boolean chosen(long index) {
        return threshold == -1L || Long.compareUnsigned(mix(seed, index), threshold) < 0;
    }

    static long mix(long seed, long index) {
        long z = seed * 0x9E3779B97F4A7C15L + index + 0x632BE59BD9B4E019L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Fills {@code out} with the next chosen samples; false when none are left. */
    public boolean next(Batch out) {
        out.clear();
        BinaryDataset data = part.dataset();
        long end = part.end();
        while (next < end && out.size() < out.capacity()) {
            if (chosen(next)) {
                data.append(next, out);
            }
            next++;
        }
        return out.size() > 0;
    }

    /** Starts again from the first sample. */
    public void rewind() {
        next = part.start();
    }
}

package dev.ember.trainer.data;

/**
 * A range of consecutive samples of a {@link BinaryDataset} (the training part, the held-out
 * part, or all), read as batches of a fixed size; the last batch may be shorter.
 */
public final class DataPart {
    private final BinaryDataset data;
    private final long start;
    private final long end;

    DataPart(BinaryDataset data, long start, long end) {
        this.data = data;
        this.start = start;
        this.end = end;
    }

    public BinaryDataset dataset() {
        return data;
    }

    /** First sample (index into the file). */
    public long start() {
        return start;
    }

    /** One past the last sample. */
    public long end() {
        return end;
    }

    public long samples() {
        return end - start;
    }

    /** Batches of {@code batchSize} samples, the last one possibly shorter. */
    public long batches(int batchSize) {
        return (samples() + batchSize - 1) / batchSize;
    }

    /**
     * Reads batch {@code batchIndex} of size {@code out.capacity()} into {@code out}: samples
     * {@code [start + i*B, min(end, start + (i+1)*B))}.
     */
    public void read(long batchIndex, Batch out) {
        long b = out.capacity();
        long from = start + batchIndex * b;
        if (batchIndex < 0 || from >= end) {
            throw new IndexOutOfBoundsException("batch " + batchIndex + " of " + batches(out.capacity()));
        }
        data.read(from, (int) Math.min(b, end - from), out);
    }
}

package dev.ember.trainer.data;

import java.util.Arrays;

/**
 * A reusable batch of samples: labels, dense features and, per table, a bag of row ids per
 * sample given as ids + offsets (as an EmbeddingBag takes them). Arrays are allocated once for
 * the capacity and grow only when a multi-hot batch holds more ids than ever before.
 *
 * <pre>
 * labels  float[size]              0 or 1
 * dense   float[size * 13]         sample-major
 * ids[t]  int[offsets[t][size]]    row ids of table t
 * offsets[t] int[size + 1]         sample i's ids are ids[t][offsets[t][i] .. offsets[t][i+1])
 * </pre>
 */
public final class Batch {
    private final int capacity;
    private int size;
    private final float[] labels;
    private final float[] dense;
    private final int[][] ids = new int[CriteoSchema.TABLES][];
    private final int[][] offsets = new int[CriteoSchema.TABLES][];
    private long[] scratch = new long[0];
    private byte[] byteScratch = new byte[0];

    public Batch(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("batch capacity must be >= 1, got " + capacity);
        }
        this.capacity = capacity;
        labels = new float[capacity];
        dense = new float[capacity * CriteoSchema.DENSE];
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            ids[t] = new int[capacity];
            offsets[t] = new int[capacity + 1];
        }
    }

    public int capacity() {
        return capacity;
    }

    /** Samples held. */
    public int size() {
        return size;
    }

    public float[] labels() {
        return labels;
    }

    public float[] dense() {
        return dense;
    }

    /** Table {@code t}'s ids (valid up to {@code offsets(t)[size()]}). */
    public int[] ids(int t) {
        return ids[t];
    }

    public int[] offsets(int t) {
        return offsets[t];
    }

    /** Empties the batch. */
    public void clear() {
        size = 0;
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            offsets[t][0] = 0;
        }
    }

    void setSize(int size) {
        this.size = size;
    }

    /** Makes sure table {@code t} can hold {@code n} ids, keeping those it has. */
    void ensureIds(int t, int n) {
        if (ids[t].length < n) {
            ids[t] = Arrays.copyOf(ids[t], Math.max(n, ids[t].length * 2));
        }
    }

    byte[] byteScratch(int n) {
        if (byteScratch.length < n) {
            byteScratch = new byte[n];
        }
        return byteScratch;
    }

    long[] scratch(int n) {
        if (scratch.length < n) {
            scratch = new long[n];
        }
        return scratch;
    }

    /**
     * Appends one sample (used by readers of text and by samplers); {@code bag[t]} holds
     * {@code bagSize[t]} ids of table {@code t}.
     */
    public void append(float label, float[] denseValues, int denseFrom, int[][] bag, int[] bagSize) {
        if (size == capacity) {
            throw new IllegalStateException("batch is full (" + capacity + " samples)");
        }
        labels[size] = label;
        System.arraycopy(denseValues, denseFrom, dense, size * CriteoSchema.DENSE, CriteoSchema.DENSE);
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            int at = offsets[t][size];
            ensureIds(t, at + bagSize[t]);
            System.arraycopy(bag[t], 0, ids[t], at, bagSize[t]);
            offsets[t][size + 1] = at + bagSize[t];
        }
        size++;
    }

    /**
     * Appends samples {@code samples[from .. from + n)} of {@code src} (e.g. a window read at once,
     * handed out in another order). Copies one array at a time (labels, dense, then each table),
     * so each pass reads one of {@code src}'s arrays, in order when {@code samples} ascend.
     */
    public void appendFrom(Batch src, int[] samples, int from, int n) {
        if (n > capacity - size) {
            throw new IllegalStateException("batch is full: " + size + " of " + capacity + " samples, " + n + " more");
        }
        for (int i = from; i < from + n; i++) {
            if (samples[i] < 0 || samples[i] >= src.size) {
                throw new IndexOutOfBoundsException("sample " + samples[i] + " of a batch of " + src.size);
            }
        }
        for (int i = 0; i < n; i++) {
            int s = samples[from + i];
            labels[size + i] = src.labels[s];
            System.arraycopy(src.dense, s * CriteoSchema.DENSE, dense, (size + i) * CriteoSchema.DENSE, CriteoSchema.DENSE);
        }
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            int[] srcOff = src.offsets[t];
            int[] srcIds = src.ids[t];
            int[] off = offsets[t];
            for (int i = 0; i < n; i++) {
                int s = samples[from + i];
                int first = srcOff[s];
                int k = srcOff[s + 1] - first;
                int at = off[size + i];
                ensureIds(t, at + k);
                if (k == 1) {
                    ids[t][at] = srcIds[first]; // Criteo's one-hot tables: no call per id
                } else {
                    System.arraycopy(srcIds, first, ids[t], at, k);
                }
                off[size + i + 1] = at + k;
            }
        }
        size += n;
    }

    /** Whether both hold the same samples (same labels, dense bits, ids and offsets). */
    public boolean sameAs(Batch o) {
        if (o.size != size) {
            return false;
        }
        if (!Arrays.equals(labels, 0, size, o.labels, 0, size)
                || !Arrays.equals(dense, 0, size * CriteoSchema.DENSE, o.dense, 0, size * CriteoSchema.DENSE)) {
            return false;
        }
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            int n = offsets[t][size];
            if (!Arrays.equals(offsets[t], 0, size + 1, o.offsets[t], 0, size + 1)
                    || !Arrays.equals(ids[t], 0, n, o.ids[t], 0, n)) {
                return false;
            }
        }
        return true;
    }
}

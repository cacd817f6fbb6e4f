package dev.ember.cache.batch;

/**
 * One table's lookups for a batch, as an EmbeddingBag takes them: bag {@code b} sums the rows
 * {@code ids[offsets[b] .. offsets[b+1])}. Arrays are reused across batches (sized for the
 * largest batch), so filling one allocates nothing.
 *
 * <pre>
 *  ids:     | i0 i1 | i2 | i3 i4 i5 | ...        (idCount used)
 *  offsets: | 0     | 2  | 3        | 6 ...      (bagCount + 1 used)
 * </pre>
 */
public final class PooledBatch {
    private long[] ids;
    private int[] offsets;
    private int idCount;
    private int bagCount;

    public PooledBatch(int maxIds, int maxBags) {
        ids = new long[Math.max(1, maxIds)];
        offsets = new int[maxBags + 1];
    }

    /** Starts a new batch: no bags, no ids. */
    public PooledBatch clear() {
        idCount = 0;
        bagCount = 0;
        offsets[0] = 0;
        return this;
    }

    /** Appends an id to the bag being built (grows the id array if needed). */
    public PooledBatch add(long id) {
        if (idCount == ids.length) {
            ids = java.util.Arrays.copyOf(ids, ids.length * 2);
        }
        ids[idCount++] = id;
        return this;
    }

    /** Closes the bag being built. An empty bag is allowed and pools to zeros. */
    public PooledBatch endBag() {
        if (bagCount + 1 == offsets.length) {
            offsets = java.util.Arrays.copyOf(offsets, offsets.length * 2);
        }
        offsets[++bagCount] = idCount;
        return this;
    }

    /**
     * Replaces the batch with {@code bags} bags given as int ids and offsets (bag {@code b} is
     * {@code ids[offsets[b] - offsets[0] .. offsets[b+1] - offsets[0])}); one pass per array, so
     * a batch of a data reader's columns is copied without a call per id.
     */
    public PooledBatch setBags(int[] srcIds, int[] srcOffsets, int bags) {
        int first = srcOffsets[0];
        int n = srcOffsets[bags] - first;
        if (ids.length < n) {
            ids = new long[Math.max(n, ids.length * 2)];
        }
        if (offsets.length < bags + 1) {
            offsets = new int[Math.max(bags + 1, offsets.length * 2)];
        }
        for (int i = 0; i < n; i++) {
            ids[i] = srcIds[first + i];
        }
        for (int b = 0; b <= bags; b++) {
            offsets[b] = srcOffsets[b] - first;
        }
        idCount = n;
        bagCount = bags;
        return this;
    }

    /** A batch of one id per bag (Criteo's one-hot case). */
    public PooledBatch setOneHot(long[] src, int count) {
        clear();
        for (int i = 0; i < count; i++) {
            add(src[i]).endBag();
        }
        return this;
    }

    public long[] ids() {
        return ids;
    }

    public int[] offsets() {
        return offsets;
    }

    public int idCount() {
        return idCount;
    }

    public int bagCount() {
        return bagCount;
    }

    public long id(int i) {
        return ids[i];
    }

    /** Checks every id lies in {@code [0, rows)}; the message names the table, bag and id. */
    public void checkIds(String table, long rows) {
        for (int b = 0; b < bagCount; b++) {
            for (int i = offsets[b]; i < offsets[b + 1]; i++) {
                long id = ids[i];
                if (id < 0 || id >= rows) {
                    throw new IllegalArgumentException("table " + table + ": id " + id + " in bag " + b
                            + " is outside [0, " + rows + ")");
                }
            }
        }
    }
}

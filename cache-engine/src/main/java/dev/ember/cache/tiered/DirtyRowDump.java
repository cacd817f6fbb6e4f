package dev.ember.cache.tiered;

import dev.ember.cache.durability.HotDump;
import dev.ember.cache.hot.HotTier;
import dev.ember.cache.hotset.HotSet;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.roaringbitmap.PeekableIntIterator;

/**
 * The hot tier's dirty rows as a checkpoint's {@link HotDump}: every row of a {@link HotSet} is
 * read from the tier in chunks ({@link HotTier#read}, a sequential pass over the slots), and the
 * dirty ones go to the dump with their table and row ids.
 *
 * <p><b>Dirty bits stay set.</b> A dumped row's newest value lives in the hot tier and the dump,
 * not in the cold tier, so it is still dirty relative to the cold tier: it is written back when
 * demoted and is in every later dump until then. That is what lets each checkpoint replace the
 * previous dump (every row of the previous dump is either in the new one or was written back since).
 *
 * <pre>
 *  per chunk of up to chunkRows hot rows of table t (ascending):
 *   ids:   | r0 | r1 | r2 | ... |          tier.read -> bytes: | row r0 | row r1 | ... |  dirty: | 1 | 0 | 1 |
 *   dump:  block(t, [r0, r2, ...], | row r0 | row r2 | ... |)
 * </pre>
 *
 * Reuses its buffers: a checkpoint allocates nothing per row.
 */
public final class DirtyRowDump implements HotDump.Source {
    private final HotTier tier;
    private final int[] handle;
    private final int rowBytes;
    private final long[] ids;
    private final boolean[] dirty;
    private final long[] dirtyIds;
    private final ByteBuffer rows;
    private final ByteBuffer dirtyRows;
    private HotSet scan;
    private long lastRows;

    /** Dumps from {@code tier}, where table {@code t} has handle {@code handle[t]}, reading {@code chunkRows} rows at a time. */
    public DirtyRowDump(HotTier tier, int[] handle, int chunkRows) {
        this.tier = tier;
        this.handle = handle.clone();
        this.rowBytes = tier.layout().bytesPerRow();
        int n = Math.min(chunkRows, HotDump.MAX_BLOCK_ROWS);
        this.ids = new long[n];
        this.dirty = new boolean[n];
        this.dirtyIds = new long[n];
        this.rows = tier.newRowBuffer(n).order(ByteOrder.LITTLE_ENDIAN);
        this.dirtyRows = ByteBuffer.allocateDirect(n * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The rows the next dump scans: those of {@code hot} (the tier holds each of them). */
    public DirtyRowDump scanning(HotSet hot) {
        this.scan = hot;
        return this;
    }

    /** Rows the last dump wrote. */
    public long lastRows() {
        return lastRows;
    }

    @Override
    public void writeTo(HotDump.Writer out) throws IOException {
        if (scan == null) {
            throw new IllegalStateException("no hot set to scan: call scanning(hotSet) first");
        }
        long before = out.rowsWritten();
        for (int t = 0; t < scan.tableCount(); t++) {
            PeekableIntIterator it = scan.rowIterator(t);
            while (it.hasNext()) {
                int n = 0;
                while (n < ids.length && it.hasNext()) {
                    ids[n++] = it.next();
                }
                tier.read(handle[t], ids, n, rows, dirty);
                int d = 0;
                for (int k = 0; k < n; k++) {
                    if (dirty[k]) {
                        dirtyIds[d] = ids[k];
                        dirtyRows.put(d * rowBytes, rows, k * rowBytes, rowBytes);
                        d++;
                    }
                }
                if (d > 0) {
                    out.rows(t, dirtyIds, d, dirtyRows);
                }
            }
        }
        lastRows = out.rowsWritten() - before;
    }
}

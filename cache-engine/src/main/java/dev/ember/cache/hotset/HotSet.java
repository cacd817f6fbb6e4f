package dev.ember.cache.hotset;

import dev.ember.cache.durability.Blobs;
import dev.ember.cache.table.TableSpec;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.List;
import org.roaringbitmap.Container;
import org.roaringbitmap.ContainerPointer;
import org.roaringbitmap.PeekableIntIterator;
import org.roaringbitmap.RoaringBitmap;

/**
 * An immutable snapshot of which rows are hot, one Roaring bitmap per table, with a generation
 * number. Readers never see a bitmap change: the bitmaps are private, built before the snapshot
 * is published and never written afterwards; a new generation is a new object that shares the
 * bitmaps of unchanged tables and, within a changed table, every container no move touched
 * ({@link CopyOnWrite}).
 *
 * <p>Row ids: one 32-bit {@link RoaringBitmap} per table, so a table may have at most
 * {@link #MAX_ROWS} = 2^31-1 rows. That covers every Criteo table (the largest Terabyte table,
 * hashed to 40M rows, uses 2%), and 32-bit Roaring is the fastest and most compact form
 * ({@code contains} is one container lookup, no extra level of keys as in Roaring64Bitmap).
 * A bigger table is refused with a clear error when a hot set is made for it; split it into
 * several tables.
 *
 * <p>{@link #contains} skips Roaring's binary search over a bitmap's container keys (most of a
 * lookup's time on tables of millions of rows, several per step and FAE window): each snapshot
 * indexes its containers by the row's high 16 bits, built once when it is made (a few hundred
 * references for all of Criteo's tables).
 *
 * <pre>
 *  HotSet(generation g)
 *   tables:  | spec 0      | spec 1      | ... |      (same order as the store's tables)
 *   bitmaps: | Roaring 0   | Roaring 1   | ... |      bit r set = row r owned by the hot tier
 * </pre>
 */
public final class HotSet {
    /** The most rows a table may have: row ids are non-negative ints in a 32-bit Roaring bitmap. */
    public static final long MAX_ROWS = Integer.MAX_VALUE;
    private static final int BLOB_MAGIC = 0x45485331; // "EHS1"

    private final long generation;
    private final List<TableSpec> tables;
    private final RoaringBitmap[] bitmaps;
    /** Per table, the bitmap's container of rows {@code [k << 16, (k + 1) << 16)} at index k (null: none hot). */
    private final Container[][] byHighBits;
    private final long hotBytes;

    private HotSet(long generation, List<TableSpec> tables, RoaringBitmap[] bitmaps) {
        this(generation, tables, bitmaps, bytesOf(tables, bitmaps));
    }

    private HotSet(long generation, List<TableSpec> tables, RoaringBitmap[] bitmaps, long hotBytes) {
        this(generation, tables, bitmaps, hotBytes, new Container[bitmaps.length][]);
    }

    /** {@code byHighBits[t]}, where not null, is table t's index already (a table a move left as it was). */
    private HotSet(long generation, List<TableSpec> tables, RoaringBitmap[] bitmaps, long hotBytes, Container[][] byHighBits) {
        this.generation = generation;
        this.tables = tables;
        this.bitmaps = bitmaps;
        this.hotBytes = hotBytes;
        this.byHighBits = byHighBits;
        for (int t = 0; t < bitmaps.length; t++) {
            if (byHighBits[t] == null) {
                byHighBits[t] = indexByHighBits(bitmaps[t]);
            }
        }
    }

    private static Container[] indexByHighBits(RoaringBitmap bitmap) {
        if (bitmap.isEmpty()) {
            return new Container[0];
        }
        Container[] index = new Container[(bitmap.last() >>> 16) + 1];
        for (ContainerPointer p = bitmap.getContainerPointer(); p.getContainer() != null; p.advance()) {
            index[p.key()] = p.getContainer();
        }
        return index;
    }

    private static long bytesOf(List<TableSpec> tables, RoaringBitmap[] bitmaps) {
        long bytes = 0;
        for (int t = 0; t < bitmaps.length; t++) {
            bytes += bitmaps[t].getLongCardinality() * tables.get(t).layout().bytesPerRow();
        }
        return bytes;
    }

    /** Generation 0: no row hot. */
    public static HotSet empty(List<TableSpec> tables) {
        List<TableSpec> copy = checkTables(tables);
        RoaringBitmap[] maps = new RoaringBitmap[copy.size()];
        for (int t = 0; t < maps.length; t++) {
            maps[t] = new RoaringBitmap();
        }
        return new HotSet(0, copy, maps);
    }

    /**
     * A snapshot owning {@code bitmaps} (the caller hands them over and must not touch them
     * again). Every row must lie in its table.
     */
    public static HotSet of(long generation, List<TableSpec> tables, RoaringBitmap[] bitmaps) {
        List<TableSpec> copy = checkTables(tables);
        if (bitmaps.length != copy.size()) {
            throw new IllegalArgumentException("hot set has " + bitmaps.length + " bitmaps for " + copy.size() + " tables");
        }
        if (generation < 0) {
            throw new IllegalArgumentException("generation must be >= 0, got " + generation);
        }
        for (int t = 0; t < bitmaps.length; t++) {
            RoaringBitmap b = bitmaps[t];
            if (!b.isEmpty() && (b.first() < 0 || b.last() < 0 || b.last() >= copy.get(t).rows())) {
                throw new IllegalArgumentException("table " + copy.get(t).name() + ": hot row "
                        + Integer.toUnsignedLong(b.last()) + " is outside [0, " + copy.get(t).rows() + ")");
            }
            b.runOptimize();
        }
        return new HotSet(generation, copy, bitmaps);
    }

    private static List<TableSpec> checkTables(List<TableSpec> tables) {
        List<TableSpec> copy = List.copyOf(tables);
        for (TableSpec spec : copy) {
            if (spec.rows() > MAX_ROWS) {
                throw new IllegalArgumentException("table " + spec.name() + " has " + spec.rows()
                        + " rows; hot sets hold at most " + MAX_ROWS + " rows per table: split it into several tables");
            }
        }
        return copy;
    }

    public long generation() {
        return generation;
    }

    public List<TableSpec> tables() {
        return tables;
    }

    public int tableCount() {
        return bitmaps.length;
    }

    /** True if row {@code row} of table {@code table} is owned by the hot tier in this generation. */
    public boolean contains(int table, long row) {
        Container[] index = byHighBits[table];
        long high = row >>> 16; // a negative row is far above every index
        return high < index.length && index[(int) high] != null && index[(int) high].contains((char) row);
    }

    public long hotRows(int table) {
        return bitmaps[table].getLongCardinality();
    }

    public long totalHotRows() {
        long n = 0;
        for (RoaringBitmap b : bitmaps) {
            n += b.getLongCardinality();
        }
        return n;
    }

    /** Bytes the hot rows take in the hot tier: rows times each table's row bytes. */
    public long hotBytes() {
        return hotBytes;
    }

    /** The hot rows of a table in ascending order (a read-only view). */
    public PeekableIntIterator rowIterator(int table) {
        return bitmaps[table].getIntIterator();
    }

    /** A private mutable copy of one table's hot rows. */
    public RoaringBitmap rowsCopy(int table) {
        return bitmaps[table].clone();
    }

    /** Read-only access for this package: callers never write. */
    RoaringBitmap bitmap(int table) {
        return bitmaps[table];
    }

    /**
     * The next generation: this one with the chunk's promoted rows added and demoted rows
     * removed. Unchanged tables share their bitmap; changed ones share every container the chunk
     * does not touch ({@link CopyOnWrite}), so publishing costs the chunk, not the hot set.
     * Needs each table's rows contiguous and ascending in the chunk, as {@link HotSets#planChunk}
     * lays them out.
     */
    HotSet next(MoveChunk chunk) {
        RoaringBitmap[] maps = bitmaps.clone();
        Container[][] index = byHighBits.clone(); // untouched tables keep theirs (a commit a step boundary)
        long bytes = hotBytes;
        int d = 0;
        int p = 0;
        for (int t = 0; t < maps.length; t++) {
            int d0 = d;
            int p0 = p;
            while (d < chunk.demoteCount && chunk.demoteTable[d] == t) {
                d++;
            }
            while (p < chunk.promoteCount && chunk.promoteTable[p] == t) {
                p++;
            }
            if (d > d0 || p > p0) {
                maps[t] = CopyOnWrite.with(maps[t], chunk.promoteRow, p0, p, chunk.demoteRow, d0, d);
                index[t] = null;
                bytes += (long) (p - p0 - (d - d0)) * tables.get(t).layout().bytesPerRow();
            }
        }
        if (d != chunk.demoteCount || p != chunk.promoteCount) {
            throw new IllegalStateException("move chunk rows are not grouped by ascending table");
        }
        return new HotSet(generation + 1, tables, maps, bytes, index);
    }

    /** Same generation, same tables, same rows. */
    public boolean sameRows(HotSet other) {
        if (other.bitmaps.length != bitmaps.length) {
            return false;
        }
        for (int t = 0; t < bitmaps.length; t++) {
            if (!bitmaps[t].equals(other.bitmaps[t])) {
                return false;
            }
        }
        return true;
    }

    /** The checkpoint form: generation, then per table name, rows and the portable Roaring bytes. */
    public byte[] toBytes() {
        return Blobs.of(out -> {
            out.writeInt(BLOB_MAGIC);
            out.writeLong(generation);
            out.writeInt(bitmaps.length);
            for (int t = 0; t < bitmaps.length; t++) {
                out.writeUTF(tables.get(t).name());
                out.writeLong(tables.get(t).rows());
                bitmaps[t].serialize(out);
            }
        });
    }

    /** Restores {@link #toBytes()} for {@code tables}; names and row counts must match the blob. */
    public static HotSet fromBytes(byte[] blob, List<TableSpec> tables) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(blob));
            if (in.readInt() != BLOB_MAGIC) {
                throw new IllegalArgumentException("not a hot-set blob (bad magic)");
            }
            long generation = in.readLong();
            int n = in.readInt();
            if (n != tables.size()) {
                throw new IllegalArgumentException("hot-set blob has " + n + " tables, the store has " + tables.size());
            }
            RoaringBitmap[] maps = new RoaringBitmap[n];
            for (int t = 0; t < n; t++) {
                String name = in.readUTF();
                long rows = in.readLong();
                TableSpec spec = tables.get(t);
                if (!spec.name().equals(name) || spec.rows() != rows) {
                    throw new IllegalArgumentException("hot-set blob table " + t + " is " + name + " with " + rows
                            + " rows, the store has " + spec.name() + " with " + spec.rows() + " rows");
                }
                maps[t] = new RoaringBitmap();
                maps[t].deserialize(in);
            }
            return of(generation, tables, maps);
        } catch (IOException e) {
            throw new IllegalArgumentException("truncated hot-set blob", e);
        }
    }

    @Override
    public String toString() {
        return "HotSet{generation=" + generation + ", hotRows=" + totalHotRows() + ", hotBytes=" + hotBytes + "}";
    }
}

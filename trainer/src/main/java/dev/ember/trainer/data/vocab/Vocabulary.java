package dev.ember.trainer.data.vocab;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * One table's mapping from categorical key to row id (see {@link VocabularySettings} for the
 * numbering). Kept values are held off-heap in a {@link KeyDictionary} whose value is the id.
 *
 * <p>File form (little-endian), written to a temporary name and moved into place:
 * <pre>
 * offset size
 *  0     8    magic "EMBRVOC1"
 *  8     4    version (1)
 * 12     4    table
 * 16     4    min count
 * 20     4    cap (0 = none)
 * 24     4    order (0 first, 1 frequency)
 * 28     4    rows (ids are 0..rows-1)
 * 32     4    head: kept values with ids of their own (ids 1..head)
 * 36     4    tail buckets T (hashed ids rows-T..rows-1; 0 when not capped)
 * 40     4    kept values K
 * 44     4    (pad)
 * 48     8    distinct values seen when building
 * 56     8    occurrences mapped to id 0 when building
 * 64     8*K  keys, in rank order
 * ..     4*K  counts, in rank order
 * </pre>
 */
public final class Vocabulary {
    static final long MAGIC = 0x31434f5652424d45L; // "EMBRVOC1" little-endian
    private static final int HEADER = 64;

    private final int table;
    private final VocabularySettings builtWith;
    private final int rows;
    private final int head;
    private final int tail;
    private final long distinct;
    private final long rareOccurrences;
    /** Keys with their id as value (rare ones, if present, with id 0). */
    private final KeyDictionary ids;
    /** Entry of each rank in {@link #ids}; null when entries are in rank order (a loaded vocabulary). */
    private final int[] rankToEntry;
    private final int kept;

    private Vocabulary(int table, VocabularySettings builtWith, int rows, int head, int tail, long distinct, long rare,
                       KeyDictionary ids, int[] rankToEntry, int kept) {
        this.table = table;
        this.builtWith = builtWith;
        this.rows = rows;
        this.head = head;
        this.tail = tail;
        this.distinct = distinct;
        this.rareOccurrences = rare;
        this.ids = ids;
        this.rankToEntry = rankToEntry;
        this.kept = kept;
    }

    /** Appends the value of the next rank (loading). */
    private void addRank(long key, int count) {
        int r = ids.size();
        int e = ids.add(key, count, r);
        if (e != r) {
            throw new IllegalStateException("table " + table + ": key " + key + " appears twice in the vocabulary");
        }
        ids.setValue(e, idOfRank(r, key));
    }

    private int entryOfRank(int r) {
        if (r < 0 || r >= kept) {
            throw new IndexOutOfBoundsException("rank " + r + " of " + kept);
        }
        return rankToEntry == null ? r : rankToEntry[r];
    }

    private int idOfRank(int rank, long key) {
        if (rank < head) {
            return 1 + rank;
        }
        return 1 + head + Math.floorMod(KeyDictionary.hash(key * 31 + table), tail);
    }

    /**
     * Builds table {@code table}'s vocabulary from every distinct key with its count and first
     * position, and writes each entry's id into {@code counted}'s values (0 for rare ones). The
     * vocabulary keeps {@code counted} as its lookup table.
     */
    public static Vocabulary build(int table, KeyDictionary counted, VocabularySettings settings) {
        int n = counted.size();
        int kept = 0;
        long rare = 0;
        for (int e = 0; e < n; e++) {
            if (counted.count(e) >= settings.minCount()) {
                kept++;
            } else {
                rare += counted.count(e);
            }
        }
        long[] sortKeys = new long[kept];
        int[] entries = new int[kept];
        int k = 0;
        for (int e = 0; e < n; e++) {
            if (counted.count(e) >= settings.minCount()) {
                sortKeys[k] = counted.first(e);
                entries[k++] = e;
            }
        }
        RadixSort.sort(sortKeys, entries, kept);
        if (settings.order() == VocabularyOrder.FREQUENCY) {
            for (int r = 0; r < kept; r++) {
                sortKeys[r] = ((long) (Integer.MAX_VALUE - counted.count(entries[r])) << 32) | r;
            }
            RadixSort.sort(sortKeys, entries, kept);
        }
        int cap = settings.cap(table);
        int rows;
        int head;
        int tail;
        if (cap == 0 || 1L + kept <= cap) {
            rows = 1 + kept;
            head = kept;
            tail = 0;
        } else {
            rows = cap;
            tail = Math.max(1, cap / 8);
            head = cap - 1 - tail;
        }
        Vocabulary v = new Vocabulary(table, settings, rows, head, tail, n, rare, counted, entries, kept);
        for (int r = 0; r < kept; r++) {
            counted.setValue(entries[r], v.idOfRank(r, counted.key(entries[r])));
        }
        return v;
    }

    /** The settings it was built with (only this table's cap is meaningful). */
    public VocabularySettings builtWith() {
        return builtWith;
    }

    /** The row id of {@code key}: 0 for a rare or unseen value. */
    public int id(long key) {
        int e = ids.find(key);
        return e < 0 ? 0 : ids.value(e);
    }

    public int table() {
        return table;
    }

    /** Rows of the table (ids are {@code 0..rows-1}). */
    public int rows() {
        return rows;
    }

    /** Values kept (seen at least min-count times). */
    public int kept() {
        return kept;
    }

    /** Kept values with an id of their own (the rest share {@link #tailBuckets()} hashed ids). */
    public int head() {
        return head;
    }

    public int tailBuckets() {
        return tail;
    }

    /** Distinct values seen when it was built. */
    public long distinct() {
        return distinct;
    }

    /** Occurrences of rare values (mapped to id 0) when it was built. */
    public long rareOccurrences() {
        return rareOccurrences;
    }

    /** The key of rank {@code r} (0 = first kept value in the vocabulary's order). */
    public long keyOfRank(int r) {
        return ids.key(entryOfRank(r));
    }

    public int countOfRank(int r) {
        return ids.count(entryOfRank(r));
    }

    /** Writes the file form to {@code file} (atomically). */
    public void save(Path file) throws IOException {
        VocabularySettings settings = builtWith;
        int k = kept;
        long bytes = HEADER + 12L * k;
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(MAGIC).putInt(1).putInt(table).putInt(settings.minCount()).putInt(settings.cap(table))
                    .putInt(settings.order().ordinal()).putInt(rows).putInt(head).putInt(tail).putInt(k).putInt(0)
                    .putLong(distinct).putLong(rareOccurrences);
            for (int r = 0; r < k; r++) {
                if (b.remaining() < 8) {
                    drain(ch, b);
                }
                b.putLong(keyOfRank(r));
            }
            for (int r = 0; r < k; r++) {
                if (b.remaining() < 4) {
                    drain(ch, b);
                }
                b.putInt(countOfRank(r));
            }
            drain(ch, b);
            if (ch.size() != bytes) {
                throw new IOException("wrote " + ch.size() + " bytes to " + tmp + ", expected " + bytes);
            }
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void drain(FileChannel ch, ByteBuffer b) throws IOException {
        b.flip();
        while (b.hasRemaining()) {
            ch.write(b);
        }
        b.clear();
    }

    /**
     * Reads a vocabulary written by {@link #save}; checks it was built with {@code settings}
     * (null: accept what it was built with).
     */
    public static Vocabulary load(Path file, int table, VocabularySettings settings) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER) {
                throw new IOException(file + ": not a vocabulary file (too short)");
            }
            ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, 0, size).order(ByteOrder.LITTLE_ENDIAN);
            if (b.getLong(0) != MAGIC || b.getInt(8) != 1) {
                throw new IOException(file + ": not a version-1 Ember vocabulary file");
            }
            if (b.getInt(12) != table) {
                throw new IOException(file + ": holds table " + b.getInt(12) + ", expected " + table);
            }
            if (settings != null && (b.getInt(16) != settings.minCount() || b.getInt(20) != settings.cap(table)
                    || b.getInt(24) != settings.order().ordinal())) {
                throw new IOException(file + ": built with min count " + b.getInt(16) + ", cap " + b.getInt(20)
                        + ", order " + VocabularyOrder.values()[b.getInt(24)] + "; asked for " + settings
                        + " (convert again with --force, or pass the settings it was built with)");
            }
            int rows = b.getInt(28);
            int head = b.getInt(32);
            int tail = b.getInt(36);
            int k = b.getInt(40);
            if (size != HEADER + 12L * k) {
                throw new IOException(file + ": truncated (" + size + " bytes, expected " + (HEADER + 12L * k) + ")");
            }
            long distinct = b.getLong(48);
            long rare = b.getLong(56);
            int[] caps = new int[dev.ember.trainer.data.CriteoSchema.TABLES];
            caps[table] = b.getInt(20);
            VocabularySettings own = new VocabularySettings(b.getInt(16), caps, VocabularyOrder.values()[b.getInt(24)]);
            Vocabulary v = new Vocabulary(table, own, rows, head, tail, distinct, rare, new KeyDictionary(k), null, k);
            for (int r = 0; r < k; r++) {
                v.addRank(b.getLong(HEADER + 8 * r), b.getInt(HEADER + 8 * k + 4 * r));
            }
            return v;
        }
    }
}

package dev.ember.trainer.data.vocab;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * An off-heap open-addressing dictionary from a categorical key ({@code long}, never
 * {@link #NO_KEY}) to a dense entry index {@code 0..size-1} in insertion order. Each entry
 * carries a count, the position where it was first seen, and an {@code int} value.
 *
 * <pre>
 * slots:   int[capacity]       entry index + 1, 0 = empty; linear probing, capacity a power of 2,
 *                              at most half full
 * entries: keys   long[n]      the key of entry i
 *          counts int[n]       occurrences (saturating at Integer.MAX_VALUE)
 *          firsts long[n]      position of the first occurrence (caller-defined order)
 *          values int[n]       caller's value (a vocabulary id)
 * </pre>
 * Each column is a direct {@link ByteBuffer} that doubles when full. Not thread-safe.
 */
public final class KeyDictionary {
    /** A key that cannot be stored. */
    public static final long NO_KEY = Long.MIN_VALUE;

    private ByteBuffer slots;
    private int mask;
    private ByteBuffer keys;
    private ByteBuffer counts;
    private ByteBuffer firsts;
    private ByteBuffer values;
    private int entryCapacity;
    private int size;

    public KeyDictionary(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected) * 2 - 1) << 1;
        slots = direct((long) cap * 4);
        mask = cap - 1;
        entryCapacity = Math.max(16, expected);
        keys = direct((long) entryCapacity * 8);
        counts = direct((long) entryCapacity * 4);
        firsts = direct((long) entryCapacity * 8);
        values = direct((long) entryCapacity * 4);
    }

    private static ByteBuffer direct(long bytes) {
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalStateException("dictionary too large: " + bytes + " bytes in one column");
        }
        return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
    }

    static int hash(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        return (int) (h ^ (h >>> 32));
    }

    public int size() {
        return size;
    }

    /** The entry of {@code key}, or -1. */
    public int find(long key) {
        int m = mask;
        int s = hash(key) & m;
        while (true) {
            int e = slots.getInt(s << 2) - 1;
            if (e < 0) {
                return -1;
            }
            if (keys.getLong(e << 3) == key) {
                return e;
            }
            s = (s + 1) & m;
        }
    }

    /**
     * Counts {@code add} more occurrences of {@code key}, first seen at {@code first}; returns
     * its entry. A new entry gets value 0; an existing one keeps the smaller first position.
     */
    public int add(long key, int add, long first) {
        int m = mask;
        int s = hash(key) & m;
        while (true) {
            int e = slots.getInt(s << 2) - 1;
            if (e < 0) {
                break;
            }
            if (keys.getLong(e << 3) == key) {
                long c = (long) counts.getInt(e << 2) + add;
                counts.putInt(e << 2, (int) Math.min(Integer.MAX_VALUE, c));
                if (first < firsts.getLong(e << 3)) {
                    firsts.putLong(e << 3, first);
                }
                return e;
            }
            s = (s + 1) & m;
        }
        if (key == NO_KEY) {
            throw new IllegalArgumentException("key " + NO_KEY + " is reserved");
        }
        int e = size;
        if (e == entryCapacity) {
            growEntries();
        }
        keys.putLong(e << 3, key);
        counts.putInt(e << 2, add);
        firsts.putLong(e << 3, first);
        values.putInt(e << 2, 0);
        slots.putInt(s << 2, e + 1);
        size = e + 1;
        if ((long) size * 2 > (long) mask + 1) {
            rehash();
        }
        return e;
    }

    private void growEntries() {
        int cap = entryCapacity >= (1 << 29) ? Integer.MAX_VALUE / 8 : entryCapacity * 2;
        if (cap <= entryCapacity) {
            throw new IllegalStateException("dictionary full at " + entryCapacity + " keys");
        }
        keys = copy(keys, (long) cap * 8);
        counts = copy(counts, (long) cap * 4);
        firsts = copy(firsts, (long) cap * 8);
        values = copy(values, (long) cap * 4);
        entryCapacity = cap;
    }

    private static ByteBuffer copy(ByteBuffer from, long bytes) {
        ByteBuffer to = direct(bytes);
        to.put(from.duplicate().clear());
        return to.clear();
    }

    private void rehash() {
        int cap = (mask + 1) * 2;
        ByteBuffer s2 = direct((long) cap * 4);
        int m = cap - 1;
        for (int e = 0; e < size; e++) {
            int s = hash(keys.getLong(e << 3)) & m;
            while (s2.getInt(s << 2) != 0) {
                s = (s + 1) & m;
            }
            s2.putInt(s << 2, e + 1);
        }
        slots = s2;
        mask = m;
    }

    public long key(int entry) {
        return keys.getLong(entry << 3);
    }

    public int count(int entry) {
        return counts.getInt(entry << 2);
    }

    public long first(int entry) {
        return firsts.getLong(entry << 3);
    }

    public int value(int entry) {
        return values.getInt(entry << 2);
    }

    public void setValue(int entry, int value) {
        values.putInt(entry << 2, value);
    }
}

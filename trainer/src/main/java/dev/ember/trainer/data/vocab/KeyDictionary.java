package dev.ember.trainer.data.vocab;

import static dev.ember.trainer.data.vocab.OffHeap.UNSAFE;

/**
 * An off-heap open-addressing dictionary from a categorical key ({@code long}) to a dense entry
 * index {@code 0..size-1} in insertion order. Each entry carries a count, the position where it
 * was first seen, and an {@code int} value. Counting a key that is already there touches one
 * 16-byte slot (one cache line) and nothing else.
 *
 * <pre>
 * slots (capacity a power of 2, at most half full; linear probing):
 *   +0  long key
 *   +8  int  entry index + 1 (0 = empty slot)
 *   +12 int  count (saturating at Integer.MAX_VALUE)
 * entries (n = size; capacity doubles when full):
 *   slotOf int[n]    where entry i's slot is
 *   firsts long[n]   position of the first occurrence (caller-defined order)
 *   values int[n]    caller's value (a vocabulary id)
 * </pre>
 * Memory comes from {@link OffHeap} and is freed by {@link #close()} (or when unreachable).
 * Not thread-safe.
 */
public final class KeyDictionary implements AutoCloseable {
    private static final int SLOT = 16;

    private OffHeap.Block slots;
    private long slotBase;
    private int mask;
    private OffHeap.Block slotOf;
    private OffHeap.Block firsts;
    private OffHeap.Block values;
    private int entryCapacity;
    private int size;

    public KeyDictionary(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected) * 2 - 1) << 1;
        slots = new OffHeap.Block((long) cap * SLOT);
        slotBase = slots.address;
        mask = cap - 1;
        entryCapacity = Math.max(16, expected);
        slotOf = new OffHeap.Block((long) entryCapacity * 4);
        firsts = new OffHeap.Block((long) entryCapacity * 8);
        values = new OffHeap.Block((long) entryCapacity * 4);
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

    private void check(int entry) {
        if (entry < 0 || entry >= size) {
            throw new IndexOutOfBoundsException("entry " + entry + " of " + size);
        }
    }

    /** The entry of {@code key}, or -1. */
    public int find(long key) {
        int m = mask;
        long base = slotBase;
        int s = hash(key) & m;
        while (true) {
            long at = base + (long) s * SLOT;
            int e = UNSAFE.getInt(at + 8) - 1;
            if (e < 0) {
                return -1;
            }
            if (UNSAFE.getLong(at) == key) {
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
        if (add < 0) {
            throw new IllegalArgumentException("negative count " + add);
        }
        int m = mask;
        long base = slotBase;
        int s = hash(key) & m;
        while (true) {
            long at = base + (long) s * SLOT;
            int e = UNSAFE.getInt(at + 8) - 1;
            if (e < 0) {
                break;
            }
            if (UNSAFE.getLong(at) == key) {
                long c = (long) UNSAFE.getInt(at + 12) + add;
                UNSAFE.putInt(at + 12, c > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) c);
                long f = firsts.address + ((long) e << 3);
                if (first < UNSAFE.getLong(f)) {
                    UNSAFE.putLong(f, first);
                }
                return e;
            }
            s = (s + 1) & m;
        }
        return insert(s, key, add, first);
    }

    /**
     * Like {@code add(key, 1, position)} for callers whose positions only grow (a single pass
     * over a file): a known key's first position is never looked at.
     */
    public int addInOrder(long key, long position) {
        int m = mask;
        long base = slotBase;
        int s = hash(key) & m;
        while (true) {
            long at = base + (long) s * SLOT;
            int e = UNSAFE.getInt(at + 8) - 1;
            if (e < 0) {
                break;
            }
            if (UNSAFE.getLong(at) == key) {
                int c = UNSAFE.getInt(at + 12);
                if (c != Integer.MAX_VALUE) {
                    UNSAFE.putInt(at + 12, c + 1);
                }
                return e;
            }
            s = (s + 1) & m;
        }
        return insert(s, key, 1, position);
    }

    private int insert(int s, long key, int count, long first) {
        int e = size;
        if (e == entryCapacity) {
            growEntries();
        }
        long at = slotBase + (long) s * SLOT;
        UNSAFE.putLong(at, key);
        UNSAFE.putInt(at + 8, e + 1);
        UNSAFE.putInt(at + 12, count);
        UNSAFE.putInt(slotOf.address + ((long) e << 2), s);
        UNSAFE.putLong(firsts.address + ((long) e << 3), first);
        UNSAFE.putInt(values.address + ((long) e << 2), 0);
        size = e + 1;
        if ((long) size * 2 > (long) mask + 1) {
            rehash();
        }
        return e;
    }

    private void growEntries() {
        if (entryCapacity >= (1 << 30)) {
            throw new IllegalStateException("dictionary full at " + entryCapacity + " keys");
        }
        int cap = entryCapacity * 2;
        slotOf = copy(slotOf, (long) cap * 4);
        firsts = copy(firsts, (long) cap * 8);
        values = copy(values, (long) cap * 4);
        entryCapacity = cap;
    }

    private static OffHeap.Block copy(OffHeap.Block from, long bytes) {
        OffHeap.Block to = new OffHeap.Block(bytes);
        UNSAFE.copyMemory(from.address, to.address, Math.min(from.bytes, bytes));
        from.free();
        return to;
    }

    private void rehash() {
        int cap = (mask + 1) * 2;
        OffHeap.Block s2 = new OffHeap.Block((long) cap * SLOT);
        int m = cap - 1;
        for (int e = 0; e < size; e++) {
            long so = slotOf.address + ((long) e << 2);
            long old = slotBase + (long) UNSAFE.getInt(so) * SLOT;
            long key = UNSAFE.getLong(old);
            int s = hash(key) & m;
            while (UNSAFE.getInt(s2.address + (long) s * SLOT + 8) != 0) {
                s = (s + 1) & m;
            }
            long at = s2.address + (long) s * SLOT;
            UNSAFE.putLong(at, key);
            UNSAFE.putInt(at + 8, e + 1);
            UNSAFE.putInt(at + 12, UNSAFE.getInt(old + 12));
            UNSAFE.putInt(so, s);
        }
        slots.free();
        slots = s2;
        slotBase = s2.address;
        mask = m;
    }

    private long slotAddress(int entry) {
        check(entry);
        return slotBase + (long) UNSAFE.getInt(slotOf.address + ((long) entry << 2)) * SLOT;
    }

    public long key(int entry) {
        return UNSAFE.getLong(slotAddress(entry));
    }

    public int count(int entry) {
        return UNSAFE.getInt(slotAddress(entry) + 12);
    }

    public long first(int entry) {
        check(entry);
        return UNSAFE.getLong(firsts.address + ((long) entry << 3));
    }

    public int value(int entry) {
        check(entry);
        return UNSAFE.getInt(values.address + ((long) entry << 2));
    }

    public void setValue(int entry, int value) {
        check(entry);
        UNSAFE.putInt(values.address + ((long) entry << 2), value);
    }

    /** Replaces each entry index {@code entries[i]}, {@code i < n}, by that entry's value. */
    public void mapToValues(int[] entries, int n) {
        long base = values.address;
        int sz = size;
        for (int i = 0; i < n; i++) {
            int e = entries[i];
            if (e < 0 || e >= sz) {
                throw new IndexOutOfBoundsException("entry " + e + " of " + sz);
            }
            entries[i] = UNSAFE.getInt(base + ((long) e << 2));
        }
    }

    /** Frees the memory; the dictionary must not be used again. */
    @Override
    public void close() {
        slots.free();
        slotOf.free();
        firsts.free();
        values.free();
        size = 0;
        entryCapacity = 0;
    }
}

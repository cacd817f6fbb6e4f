package dev.ember.cache.hotset;

/**
 * One bounded batch of row moves planned by {@link HotSets#planChunk}: demotions (hot -> cold,
 * write back if dirty) then promotions (cold -> hot). Reused across chunks; filling it allocates
 * nothing.
 *
 * <pre>
 *  demoteTable: | t t t |        demoteRow: | r r r |     (demoteCount used)
 *  promoteTable:| t t t t |      promoteRow:| r r r r |   (promoteCount used)
 * </pre>
 */
public final class MoveChunk {
    final int[] demoteTable;
    final int[] demoteRow;
    final int[] promoteTable;
    final int[] promoteRow;
    int demoteCount;
    int promoteCount;
    long basedOn = -1;

    /** A chunk of at most {@code capacity} moves (demotions and promotions together). */
    public MoveChunk(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("move chunk capacity must be > 0, got " + capacity);
        }
        demoteTable = new int[capacity];
        demoteRow = new int[capacity];
        promoteTable = new int[capacity];
        promoteRow = new int[capacity];
    }

    /** Moves the next plan takes at most (the capacity unless lowered). */
    private int limit = -1;

    /** Makes the next plans take at most {@code moves} moves (capped at the capacity). */
    public void limit(int moves) {
        if (moves <= 0) {
            throw new IllegalArgumentException("a move chunk's limit must be > 0, got " + moves);
        }
        limit = Math.min(moves, capacity());
    }

    /** Moves a plan takes at most. */
    public int limit() {
        return limit < 0 ? capacity() : limit;
    }

    /** Whether plans stop after passing over a chunk's worth of rows in use even when none was planned. */
    private boolean bounded;

    /**
     * With {@code on}, the next plans look at no more than {@link #limit} rows in use, planned move
     * or not (a step boundary: an empty plan is fine, the next boundary takes up where it stopped);
     * off (the default, settling), a plan passes over rows in use until it finds a move.
     */
    public void bounded(boolean on) {
        bounded = on;
    }

    public boolean bounded() {
        return bounded;
    }

    /** The {@link System#nanoTime} at which a bounded plan stops (0: none). */
    private long deadline;

    /**
     * Makes the next bounded plans stop at {@code nanoTime} ({@link System#nanoTime}; 0: no
     * deadline): a step boundary's time is bounded, and what a plan did not reach waits for the
     * next one. Plans look at {@value HotSets#CLOCK_ROWS} rows at least.
     */
    public void deadline(long nanoTime) {
        deadline = nanoTime;
    }

    /** The deadline of a bounded plan, 0 when it has none (or is not bounded). */
    public long deadline() {
        return bounded ? deadline : 0;
    }

    public int capacity() {
        return demoteRow.length;
    }

    public int demoteCount() {
        return demoteCount;
    }

    public int promoteCount() {
        return promoteCount;
    }

    public int size() {
        return demoteCount + promoteCount;
    }

    public int demoteTable(int i) {
        return demoteTable[i];
    }

    public long demoteRow(int i) {
        return demoteRow[i];
    }

    public int promoteTable(int i) {
        return promoteTable[i];
    }

    public long promoteRow(int i) {
        return promoteRow[i];
    }

    /**
     * Keeps the demotions {@code i} with {@code keep[i]} and drops the others, in order (a dropped
     * move stays pending in its {@link HotSets}). Returns the demotions kept.
     */
    public int retainDemotions(boolean[] keep) {
        int w = 0;
        for (int i = 0; i < demoteCount; i++) {
            if (keep[i]) {
                demoteTable[w] = demoteTable[i];
                demoteRow[w++] = demoteRow[i];
            }
        }
        demoteCount = w;
        return w;
    }

    /**
     * Keeps the promotions {@code i} with {@code keep[i]} and drops the others, in order (a
     * dropped move stays pending in its {@link HotSets}: a later chunk takes it). Returns the
     * promotions kept.
     */
    public int retainPromotions(boolean[] keep) {
        int w = 0;
        for (int i = 0; i < promoteCount; i++) {
            if (keep[i]) {
                promoteTable[w] = promoteTable[i];
                promoteRow[w++] = promoteRow[i];
            }
        }
        promoteCount = w;
        return w;
    }

    /** The generation this chunk was planned against; committing it publishes generation + 1. */
    public long basedOn() {
        return basedOn;
    }

    void clear() {
        demoteCount = 0;
        promoteCount = 0;
        basedOn = -1;
    }
}

package dev.ember.cache.hotset;

import org.roaringbitmap.RoaringBitmap;

/**
 * What turns one hot set into another, per table: {@code promote = next.andNot(current)} (rows
 * to copy cold -> hot) and {@code demote = current.andNot(next)} (rows to write back hot -> cold).
 */
public final class HotSetDiff {
    private final RoaringBitmap[] promote;
    private final RoaringBitmap[] demote;

    private HotSetDiff(RoaringBitmap[] promote, RoaringBitmap[] demote) {
        this.promote = promote;
        this.demote = demote;
    }

    public static HotSetDiff between(HotSet current, HotSet next) {
        if (!current.tables().equals(next.tables())) {
            throw new IllegalArgumentException("hot sets are over different tables: " + current.tables() + " vs " + next.tables());
        }
        int n = current.tableCount();
        RoaringBitmap[] promote = new RoaringBitmap[n];
        RoaringBitmap[] demote = new RoaringBitmap[n];
        for (int t = 0; t < n; t++) {
            promote[t] = RoaringBitmap.andNot(next.bitmap(t), current.bitmap(t));
            demote[t] = RoaringBitmap.andNot(current.bitmap(t), next.bitmap(t));
        }
        return new HotSetDiff(promote, demote);
    }

    public int tableCount() {
        return promote.length;
    }

    /** A copy of the rows of {@code table} to promote. */
    public RoaringBitmap promoteCopy(int table) {
        return promote[table].clone();
    }

    /** A copy of the rows of {@code table} to demote. */
    public RoaringBitmap demoteCopy(int table) {
        return demote[table].clone();
    }

    public long promoteCount() {
        long n = 0;
        for (RoaringBitmap b : promote) {
            n += b.getLongCardinality();
        }
        return n;
    }

    public long demoteCount() {
        long n = 0;
        for (RoaringBitmap b : demote) {
            n += b.getLongCardinality();
        }
        return n;
    }

    public boolean isEmpty() {
        return promoteCount() == 0 && demoteCount() == 0;
    }

    /** The mutable bitmaps, handed to the mover of this package. */
    RoaringBitmap promote(int table) {
        return promote[table];
    }

    RoaringBitmap demote(int table) {
        return demote[table];
    }
}

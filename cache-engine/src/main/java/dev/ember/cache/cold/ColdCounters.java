package dev.ember.cache.cold;

import java.util.concurrent.atomic.LongAdder;

/** Bumped once per batch on the hot path; read by JMX and reports. */
public final class ColdCounters {
    final LongAdder gathers = new LongAdder();
    final LongAdder applies = new LongAdder();
    final LongAdder rowsRead = new LongAdder();
    final LongAdder rowsWritten = new LongAdder();
    final LongAdder rowsInserted = new LongAdder();
    final LongAdder rowsInPlace = new LongAdder();
    final LongAdder preImagesLogged = new LongAdder();

    public long gathers() {
        return gathers.sum();
    }

    public long applies() {
        return applies.sum();
    }

    public long rowsRead() {
        return rowsRead.sum();
    }

    public long rowsWritten() {
        return rowsWritten.sum();
    }

    public long rowsInserted() {
        return rowsInserted.sum();
    }

    /** Rows written where they lie in the mapped file, around Chronicle's lookup and lock ({@link InPlaceRows}). */
    public long rowsInPlace() {
        return rowsInPlace.sum();
    }

    public long preImagesLogged() {
        return preImagesLogged.sum();
    }
}

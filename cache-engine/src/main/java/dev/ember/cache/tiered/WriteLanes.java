package dev.ember.cache.tiered;

import java.util.concurrent.locks.LockSupport;

/**
 * The write-behind's puts, spread over lanes that never wait for one another: row {@code r} of
 * table {@code t} is always written by lane {@link #laneOf}{@code (t, r)}, and every lane takes the
 * batches in the order they were handed over, so each row's writes land in apply order while a
 * lane still busy with one batch holds up no other lane. A batch has landed when its last lane is
 * done with it ({@link StepBatch#awaitLanded}).
 *
 * <p>Why lanes: with one barrier a batch (every thread done with batch N before any starts N+1)
 * the write threads waited for each batch's slowest part and for the device's read-back of the
 * next, and the write-behind's cycle, not the cores, bounded {@code cache}'s steps.
 *
 * <pre>
 *  ring:       | b(s) | b(s+1) | ... |   batch handed over as sequence s, in slot s &amp; (RING - 1)
 *  published:  sequences below it are in the ring (one thread, the write-behind's, hands over)
 *  lane w:     cursor: the next sequence it takes; it parks while cursor == published
 * </pre>
 * A slot is handed again only once every lane's cursor is past its old batch.
 */
final class WriteLanes implements AutoCloseable {
    /** A lane's share of a batch: its rows of every table. */
    @FunctionalInterface
    interface Share {
        void write(StepBatch b, int lane);
    }

    /** Waits until the device's read-back of a batch's updated rows has landed in its buffers. */
    @FunctionalInterface
    interface ReadBack {
        void await(StepBatch b);
    }

    private static final int RING = 256;

    private final StepBatch[] ring = new StepBatch[RING];
    private final Lane[] lanes;
    private final Share share;
    private final ReadBack readBack;
    private volatile long published;
    private volatile boolean closed;

    private final class Lane {
        final int index;
        final Thread thread;
        volatile long cursor;
        volatile boolean sleeping;
        /** Parked until another lane has seen the read-back of the batch it is on land. */
        volatile boolean awaitingReadBack;

        Lane(int index, String name, boolean lowered) {
            this.index = index;
            Runnable loop = () -> loop(this);
            this.thread = new Thread(lowered ? dev.ember.cache.threads.BackgroundPriority.lowered(loop) : loop, name);
            thread.setDaemon(true);
        }
    }

    /**
     * {@code count} lanes of one thread each, named {@code name-1..}; {@code lowered}: at the
     * background's priority. The first lane to take a batch waits for its read-back for all.
     */
    WriteLanes(int count, String name, boolean lowered, ReadBack readBack, Share share) {
        if (count < 1) {
            throw new IllegalArgumentException("write lanes must be >= 1, got " + count);
        }
        this.share = share;
        this.readBack = readBack;
        this.lanes = new Lane[count];
        for (int i = 0; i < count; i++) {
            lanes[i] = new Lane(i, name + "-" + (i + 1), lowered);
        }
        for (Lane l : lanes) {
            l.thread.start();
        }
    }

    int count() {
        return lanes.length;
    }

    /** The lane that writes {@code row} of table {@code t}, of {@code lanes}: the same for the store's life. */
    static int laneOf(int t, long row, int lanes) {
        return (int) ((((row + ((long) t << 48)) * 0x9E3779B97F4A7C15L) >>> 33) % lanes);
    }

    /**
     * Hands {@code b} over to every lane (one thread only: the write-behind's), its device
     * read-back perhaps still under way: the lanes wait for it, not this thread.
     */
    void hand(StepBatch b) {
        long s = published;
        for (Lane l : lanes) {
            while (s - l.cursor >= RING) { // never in practice: a store has far fewer batches
                Thread.yield();
            }
        }
        b.landingStarts(lanes.length);
        ring[(int) (s & (RING - 1))] = b;
        published = s + 1;
        for (Lane l : lanes) {
            if (l.sleeping) {
                LockSupport.unpark(l.thread);
            }
        }
    }

    private void loop(Lane l) {
        long next = 0;
        while (true) {
            if (next == published) {
                if (closed) {
                    return;
                }
                l.sleeping = true; // then published is read again: a hand-over either sees this or is seen
                if (next == published && !closed) {
                    LockSupport.park(this);
                }
                l.sleeping = false;
                continue;
            }
            StepBatch b = ring[(int) (next & (RING - 1))];
            long start = 0;
            Throwable failed = null;
            try {
                if (readBackLanded(b, l)) {
                    start = System.nanoTime();
                    share.write(b, l.index);
                }
            } catch (Throwable e) {
                failed = e;
            }
            l.cursor = ++next;
            b.laneDone(start, System.nanoTime(), failed);
        }
    }

    /**
     * Whether {@code b}'s read-back landed (false: it failed, the failure kept by the lane that
     * waited for it). The first lane to take {@code b} waits on the device; the others park until
     * it says, so one thread, not every lane, waits for each batch.
     */
    private boolean readBackLanded(StepBatch b, Lane l) {
        if (b.claimReadBack()) {
            try {
                readBack.await(b);
                b.readBackDone(true, System.nanoTime());
            } catch (Throwable e) {
                b.readBackDone(false, System.nanoTime());
                throw e;
            } finally {
                for (Lane other : lanes) {
                    if (other.awaitingReadBack) {
                        LockSupport.unpark(other.thread);
                    }
                }
            }
            return true;
        }
        while (b.readBackPending()) {
            l.awaitingReadBack = true; // then the state is read again: the waiting lane sees this or is seen
            if (b.readBackPending()) {
                LockSupport.park(this);
            }
            l.awaitingReadBack = false;
        }
        return b.readBackSucceeded();
    }

    /** Stops the lanes once they have written what was handed over. */
    @Override
    public void close() {
        closed = true;
        for (Lane l : lanes) {
            LockSupport.unpark(l.thread);
        }
    }
}

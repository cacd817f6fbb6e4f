package dev.ember.cache.popularity;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The accesses frozen counters log (for a group of tables), in order: one thread appends (the step thread), one thread at
 * a time replays (the knob's thread behind the steps, or the step thread itself), at the same
 * time. Unbounded: off-heap segments in a chain; a segment the replayer has left is reused by the
 * appender, so a log that is replayed as fast as it grows stays at a few segments and a warm log
 * allocates nothing.
 *
 * <pre>
 *  segment: | long 0 | long 1 | ... | long 65535 |  next -> segment ...
 *  entry i lives in the segment with start <= i < start + 65536, at byte (i - start) * 8
 *  appended (appender's) >= published (release) >= consumed (release) >= every entry replayed
 * </pre>
 * The appender publishes after a batch of entries ({@link #publish}); the replayer reads up to
 * the published count. A segment is reused only once {@code consumed} is past its end, i.e. the
 * replayer has moved on to the next segment and never reads it again.
 */
final class AccessLog {
    static final int SEGMENT_LONGS = 1 << 16;

    /** What replaying hands each entry to. */
    @FunctionalInterface
    interface Sink {
        void accept(long entry);
    }

    private static final class Segment {
        final ByteBuffer longs = ByteBuffer.allocateDirect(SEGMENT_LONGS * Long.BYTES).order(ByteOrder.nativeOrder());
        long start;
        Segment next;
    }

    // Appender's side.
    private Segment oldest;
    private Segment tail;
    private long appended;
    private final AtomicLong published = new AtomicLong();

    // Replayer's side (handed between threads through published/consumed).
    private Segment head;
    private long taken;
    private final AtomicLong consumed = new AtomicLong();

    AccessLog() {
        Segment s = new Segment();
        oldest = s;
        tail = s;
        head = s;
    }

    /** Appends one entry (appender only); replayers see it after {@link #publish}. */
    void append(long entry) {
        long i = appended;
        Segment s = tail;
        if (i == s.start + SEGMENT_LONGS) {
            s = nextSegment(i);
        }
        s.longs.putLong((int) (i - s.start) << 3, entry);
        appended = i + 1;
    }

    /** Entries appended so far (appender). */
    long appended() {
        return appended;
    }

    /** Makes every entry appended so far visible to the replayer. */
    void publish() {
        published.setRelease(appended);
    }

    /** Entries appended and not yet replayed (appender's view). */
    long backlog() {
        return appended - consumed.getAcquire();
    }

    /** The replayer's view: entries published so far. */
    long published() {
        return published.getAcquire();
    }

    /** The first entry not yet replayed (replayer). */
    long taken() {
        return taken;
    }

    /**
     * Hands the entries from {@link #taken()} up to {@code to} (at most {@link #published()}) to
     * {@code sink}, in order, without consuming them (on any thread the replayer hands the range
     * to); then the replayer {@link #consume}s it.
     */
    void read(long to, Sink sink) {
        Segment h = head;
        for (long i = taken; i < to; i++) {
            if (i == h.start + SEGMENT_LONGS) {
                h = h.next;
            }
            sink.accept(h.longs.getLong((int) (i - h.start) << 3));
        }
    }

    /** Marks the entries before {@code to} replayed, once every {@link #read} of them is done (replayer). */
    void consume(long to) {
        Segment h = head;
        while (h.start + SEGMENT_LONGS < to) {
            h = h.next;
        }
        head = h;
        taken = to;
        consumed.setRelease(to);
    }

    private Segment nextSegment(long start) {
        Segment s;
        if (oldest != tail && consumed.getAcquire() > oldest.start + SEGMENT_LONGS) {
            s = oldest; // the replayer has left it for good
            oldest = s.next;
            s.next = null;
        } else {
            s = new Segment();
        }
        s.start = start;
        tail.next = s;
        tail = s;
        return s;
    }
}

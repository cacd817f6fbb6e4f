package dev.ember.cache.durability;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Pre-images of cold rows, written and forced before the rows are updated in place, so a crash
 * at any moment can be rolled back to the last checkpoint. A checkpoint {@link #reset}s the log to
 * the new epoch; a log whose epoch is older than the manifest's was already superseded.
 *
 * <pre>
 *  header (16 B): "EMBRUNDO":long | epoch:long
 *  record:        magic:int | table:int | row:long | present:int | len:int | len bytes | check:long
 *                 (check = {@link #check} over every byte before it in the record)
 * </pre>
 *
 * All little-endian. Appends are one write of whole records plus one force; a record cut short by
 * a crash fails its check and ends the log (its update never happened: updates follow the force).
 */
public final class UndoLog implements AutoCloseable {
    private static final long MAGIC = 0x454D4252554E444FL; // "EMBRUNDO"
    private static final int RECORD_MAGIC = 0x52444E55;
    public static final int HEADER_BYTES = 16;
    /** Bytes of a record before the row bytes. */
    public static final int RECORD_HEAD = 24;

    /** Receives pre-images during a rollback, newest first. */
    public interface PreImageSink {
        /** {@code row} of {@code table} held {@code bytes} (or was absent) at the last checkpoint. */
        void restore(int table, long row, boolean present, ByteBuffer bytes);
    }

    private final Path file;
    private final FileChannel channel;
    private final LongAdder bytesWritten = new LongAdder();
    private final boolean sync;
    private long epoch;
    private long end;

    private UndoLog(Path file, FileChannel channel, long epoch, long end, boolean sync) {
        this.file = file;
        this.sync = sync;
        this.channel = channel;
        this.epoch = epoch;
        this.end = end;
    }

    /**
     * Opens (or creates with {@code epochIfNew}) the log; nothing is replayed yet.
     *
     * @param sync force each append to the device before returning (fdatasync). Without it an
     *             append is still in the kernel's page cache before any row changes, which is all
     *             a process crash needs; the force only matters for machine crashes, which mapped
     *             table files cannot survive exactly anyway.
     */
    public static UndoLog open(Path file, long epochIfNew, boolean sync) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            long size = ch.size();
            if (size < HEADER_BYTES) {
                UndoLog log = new UndoLog(file, ch, epochIfNew, HEADER_BYTES, sync);
                log.reset(epochIfNew);
                return log;
            }
            ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, h, 0);
            if (h.getLong(0) != MAGIC) {
                throw new IOException(file + ": not an Ember undo log (bad magic)");
            }
            return new UndoLog(file, ch, h.getLong(8), size, sync);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    public long epoch() {
        return epoch;
    }

    public Path file() {
        return file;
    }

    /** Bytes of records now in the log. */
    public synchronized long recordBytes() {
        return end - HEADER_BYTES;
    }

    /** Every byte of records appended since this log was opened (a cost counter). */
    public long bytesWritten() {
        return bytesWritten.sum();
    }

    /** Bytes one record of a row of {@code rowBytes} bytes takes. */
    public static int recordBytes(int rowBytes) {
        return RECORD_HEAD + rowBytes + Long.BYTES;
    }

    /** Fills the head of a record at {@code off}; the caller then puts the row bytes and {@link #seal}s. */
    public static void putHead(ByteBuffer buf, int off, int table, long row, boolean present, int rowBytes) {
        buf.putInt(off, RECORD_MAGIC);
        buf.putInt(off + 4, table);
        buf.putLong(off + 8, row);
        buf.putInt(off + 16, present ? 1 : 0);
        buf.putInt(off + 20, rowBytes);
    }

    /** Writes the check of the record at {@code off} (its row bytes already in place). */
    public static void seal(ByteBuffer buf, int off, int rowBytes) {
        int body = RECORD_HEAD + rowBytes;
        buf.putLong(off + body, check(buf, off, body));
    }

    /**
     * Appends {@code bytes} bytes of sealed records from {@code buf[0..bytes)} and (with sync)
     * forces them to the device before returning: only then may the rows be changed.
     */
    public synchronized void append(ByteBuffer buf, int bytes) throws IOException {
        if (bytes == 0) {
            return;
        }
        ByteBuffer src = buf.duplicate();
        src.limit(bytes).position(0);
        long pos = end;
        while (src.hasRemaining()) {
            pos += channel.write(src, pos);
        }
        if (sync) {
            channel.force(false);
        }
        end = pos;
        bytesWritten.add(bytes);
    }

    /**
     * Hands every intact record to {@code sink}, newest first; returns how many. A torn or
     * damaged tail ends the log.
     */
    public synchronized int replay(PreImageSink sink) throws IOException {
        long size = channel.size();
        List<long[]> records = new ArrayList<>();
        ByteBuffer head = ByteBuffer.allocate(RECORD_HEAD).order(ByteOrder.LITTLE_ENDIAN);
        long pos = HEADER_BYTES;
        while (pos + RECORD_HEAD <= size) {
            head.clear();
            readFully(channel, head, pos);
            int len = head.getInt(20);
            if (head.getInt(0) != RECORD_MAGIC || len < 0 || len > (1 << 20)
                    || pos + recordBytes(len) > size) {
                break;
            }
            ByteBuffer rec = ByteBuffer.allocate(recordBytes(len)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, rec, pos);
            if (rec.getLong(RECORD_HEAD + len) != check(rec, 0, RECORD_HEAD + len)) {
                break;
            }
            records.add(new long[] {pos, len});
            pos += recordBytes(len);
        }
        for (int i = records.size() - 1; i >= 0; i--) {
            long at = records.get(i)[0];
            int len = (int) records.get(i)[1];
            ByteBuffer rec = ByteBuffer.allocate(recordBytes(len)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, rec, at);
            ByteBuffer row = rec.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            row.position(RECORD_HEAD).limit(RECORD_HEAD + len);
            sink.restore(rec.getInt(4), rec.getLong(8), rec.getInt(16) == 1, row.slice().order(ByteOrder.LITTLE_ENDIAN));
        }
        return records.size();
    }

    /** Empties the log and stamps it with {@code newEpoch}, forced: the previous epoch's records are gone. */
    public synchronized void reset(long newEpoch) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        h.putLong(0, MAGIC).putLong(8, newEpoch);
        // Cut the records first: a crash between the two steps leaves an empty log, never old
        // records under the new epoch's header.
        channel.truncate(HEADER_BYTES);
        channel.force(true);
        long pos = 0;
        while (h.hasRemaining()) {
            pos += channel.write(h, pos);
        }
        channel.force(true);
        epoch = newEpoch;
        end = HEADER_BYTES;
    }

    /** A 64-bit check of {@code buf[off..off+len)} (SplitMix-style mixing of 8-byte words). */
    public static long check(ByteBuffer buf, int off, int len) {
        long h = 0x9E3779B97F4A7C15L ^ len;
        int i = 0;
        for (; i + 8 <= len; i += 8) {
            h = mix(h ^ buf.getLong(off + i)) + 0x632BE59BD9B4E019L;
        }
        for (; i < len; i++) {
            h = mix(h ^ (buf.get(off + i) & 0xFFL)) + 0x632BE59BD9B4E019L;
        }
        return mix(h);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long pos) throws IOException {
        while (dst.hasRemaining()) {
            int n = ch.read(dst, pos + dst.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    @Override
    public synchronized void close() throws IOException {
        channel.close();
    }
}

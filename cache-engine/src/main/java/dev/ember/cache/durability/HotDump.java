package dev.ember.cache.durability;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Rows whose newest value lives only in the hot tier, written in one sequential pass at a
 * checkpoint (instead of a random put per row into the cold tables) and named by that
 * checkpoint's manifest ({@link Ref}). The file is written and forced before the manifest that
 * names it is published; the previous checkpoint's dump is deleted only after.
 *
 * <pre>
 *  header: "EMBRHOTD":long | version:int | epoch:long | tables:int | tables x rowBytes:int
 *  block:  table:int | count:int (1..{@link #MAX_BLOCK_ROWS}) | count x row:long | count x rowBytes bytes
 *  ...     (blocks in the order written)
 *  end:    -1:int | rows:long | crc32c:int over every byte before it
 * </pre>
 *
 * All little-endian. A dump is read only after its length, CRC-32C and structure were checked
 * against its {@link Ref} and the store's tables ({@link #verify}), so a damaged or truncated dump
 * is reported before a single row is used.
 */
public final class HotDump {
    private static final long MAGIC = 0x454D4252484F5444L; // "EMBRHOTD"
    private static final int VERSION = 1;
    private static final int END = -1;
    /** Most rows one block holds (bounds what a reader allocates for a block). */
    public static final int MAX_BLOCK_ROWS = 1 << 16;
    private static final int IO_BYTES = 1 << 20;
    private static final String PREFIX = "hot.";
    private static final String SUFFIX = ".dump";

    private HotDump() {
    }

    /** The file name of the dump written for the checkpoint of epoch {@code epoch}. */
    public static String fileName(long epoch) {
        return PREFIX + epoch + SUFFIX;
    }

    /** Whether {@code name} is the name of a dump file (any epoch). */
    public static boolean isDumpName(String name) {
        return name.startsWith(PREFIX) && name.endsWith(SUFFIX);
    }

    /**
     * Writes the rows of a checkpoint's dump into the {@link Writer} it is handed. A dump replaces
     * the previous one, so it must hold every row of the previous dump whose newest value has not
     * been put into the tables since (a hot tier keeps such rows dirty until it writes them back).
     */
    public interface Source {
        void writeTo(Writer out) throws IOException;
    }

    /** Receives a verified dump's rows, a block at a time ({@code bytes} holds count packed rows from 0). */
    public interface RowSink {
        void rows(int table, long[] rows, int count, ByteBuffer bytes) throws IOException;
    }

    /**
     * What a manifest records of its dump: the file name (in the store directory), its length,
     * its rows and its CRC-32C (the one its trailer holds).
     */
    public record Ref(String file, long length, long rows, int crc) {
        public byte[] toBytes() {
            return Blobs.of(out -> {
                out.writeUTF(file);
                out.writeLong(length);
                out.writeLong(rows);
                out.writeInt(crc);
            });
        }

        public static Ref fromBytes(byte[] blob, String source) throws IOException {
            try {
                DataInputStream in = new DataInputStream(new ByteArrayInputStream(blob));
                Ref r = new Ref(in.readUTF(), in.readLong(), in.readLong(), in.readInt());
                if (!isDumpName(r.file) || r.file.contains("/") || r.length < 0 || r.rows < 0) {
                    throw new IOException(source + ": the hot dump reference names " + r + ", not a dump file");
                }
                return r;
            } catch (java.io.EOFException e) {
                throw new IOException(source + ": the hot dump reference is truncated", e);
            }
        }
    }

    /**
     * Writes a dump file block by block through one staging buffer; {@link #finish} adds the
     * trailer and forces the file. A writer that is closed unfinished leaves an incomplete file
     * the caller deletes.
     */
    public static final class Writer implements AutoCloseable {
        private final Path file;
        private final FileChannel channel;
        private final int[] rowBytes;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(IO_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        private final CRC32C crc = new CRC32C();
        private long length;
        private long rows;
        private boolean finished;

        private Writer(Path file, FileChannel channel, int[] rowBytes) {
            this.file = file;
            this.channel = channel;
            this.rowBytes = rowBytes.clone();
        }

        /** Creates (replacing any) {@code file} for the checkpoint of {@code epoch} over tables of these row sizes. */
        public static Writer create(Path file, long epoch, int[] rowBytes) throws IOException {
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
            Writer w = new Writer(file, ch, rowBytes);
            try {
                w.buf.putLong(MAGIC).putInt(VERSION).putLong(epoch).putInt(rowBytes.length);
                for (int b : rowBytes) {
                    w.buf.putInt(b);
                }
            } catch (RuntimeException e) {
                ch.close();
                throw e;
            }
            return w;
        }

        /**
         * Appends rows {@code ids[0..count)} of table {@code table}, their bytes packed in
         * {@code bytes} from position 0 ({@code count * rowBytes[table]} bytes), as blocks of at
         * most {@link #MAX_BLOCK_ROWS} rows.
         */
        public void rows(int table, long[] ids, int count, ByteBuffer bytes) throws IOException {
            if (finished) {
                throw new IllegalStateException("dump " + file + " is finished");
            }
            if (table < 0 || table >= rowBytes.length) {
                throw new IllegalArgumentException("table number " + table + " is outside [0, " + rowBytes.length + ")");
            }
            int rb = rowBytes[table];
            if (bytes.capacity() < (long) count * rb) {
                throw new IllegalArgumentException("buffer of " + bytes.capacity() + " bytes is short of " + count
                        + " rows of " + rb + " bytes");
            }
            for (int from = 0; from < count; ) {
                int n = Math.min(MAX_BLOCK_ROWS, count - from);
                room(8);
                buf.putInt(table).putInt(n);
                for (int i = 0; i < n; i++) {
                    room(8);
                    buf.putLong(ids[from + i]);
                }
                long start = (long) from * rb;
                long end = start + (long) n * rb;
                while (start < end) {
                    if (!buf.hasRemaining()) {
                        drain();
                    }
                    int k = (int) Math.min(end - start, buf.remaining());
                    buf.put(buf.position(), bytes, (int) start, k);
                    buf.position(buf.position() + k);
                    start += k;
                }
                from += n;
                rows += n;
            }
        }

        /** Writes the trailer, forces the file and returns what the manifest records of it. */
        public Ref finish() throws IOException {
            room(12);
            buf.putInt(END).putLong(rows);
            drain();
            int sum = (int) crc.getValue();
            buf.putInt(sum);
            buf.flip();
            while (buf.hasRemaining()) {
                length += channel.write(buf);
            }
            buf.clear();
            channel.force(true);
            finished = true;
            return new Ref(file.getFileName().toString(), length, rows, sum);
        }

        public long rowsWritten() {
            return rows;
        }

        private void room(int n) throws IOException {
            if (buf.remaining() < n) {
                drain();
            }
        }

        private void drain() throws IOException {
            buf.flip();
            crc.update(buf.duplicate());
            while (buf.hasRemaining()) {
                length += channel.write(buf);
            }
            buf.clear();
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /**
     * Checks {@code file} against {@code ref} and the store's tables (row sizes, row counts):
     * length, CRC-32C, header and every block's table, count and row ids. Reads it once; throws
     * an {@link IOException} naming the file and what is wrong.
     */
    public static void verify(Path file, Ref ref, int[] rowBytes, long[] tableRows) throws IOException {
        scan(file, ref, rowBytes, tableRows, null);
    }

    /** Reads a dump {@link #verify} accepted, handing each block to {@code sink} (checks it again on the way). */
    public static void read(Path file, Ref ref, int[] rowBytes, long[] tableRows, RowSink sink) throws IOException {
        scan(file, ref, rowBytes, tableRows, sink);
    }

    private static void scan(Path file, Ref ref, int[] rowBytes, long[] tableRows, RowSink sink) throws IOException {
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            throw new IOException("hot dump " + file + " is missing", e);
        }
        if (size != ref.length()) {
            throw new IOException("hot dump " + file + " is " + size + " bytes, the manifest recorded " + ref.length()
                    + (size < ref.length() ? " (truncated)" : ""));
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Reader in = new Reader(ch, file);
            if (in.getLong() != MAGIC) {
                throw in.bad("not a hot dump (bad magic)");
            }
            int version = in.getInt();
            if (version != VERSION) {
                throw in.bad("version " + version + " is not supported (expected " + VERSION + ")");
            }
            in.getLong(); // epoch: the name says it too
            int tables = in.getInt();
            if (tables != rowBytes.length) {
                throw in.bad("holds " + tables + " tables, the store has " + rowBytes.length);
            }
            for (int t = 0; t < tables; t++) {
                int b = in.getInt();
                if (b != rowBytes[t]) {
                    throw in.bad("table " + t + " has rows of " + b + " bytes, the store's have " + rowBytes[t]);
                }
            }
            long[] ids = new long[0];
            ByteBuffer rows = null;
            long total = 0;
            while (true) {
                int table = in.getInt();
                if (table == END) {
                    break;
                }
                int count = in.getInt();
                if (table < 0 || table >= tables || count < 1 || count > MAX_BLOCK_ROWS) {
                    throw in.bad("block at byte " + (in.offset() - 8) + " names table " + table + " and " + count + " rows");
                }
                if (ids.length < count) {
                    ids = new long[count];
                }
                for (int i = 0; i < count; i++) {
                    long r = in.getLong();
                    if (r < 0 || r >= tableRows[table]) {
                        throw in.bad("row " + r + " of table " + table + " is outside [0, " + tableRows[table] + ")");
                    }
                    ids[i] = r;
                }
                int bytes = count * rowBytes[table];
                if (sink != null && (rows == null || rows.capacity() < bytes)) {
                    rows = ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
                }
                in.bytes(sink == null ? null : rows, bytes);
                total += count;
                if (sink != null) {
                    sink.rows(table, ids, count, rows);
                }
            }
            long stated = in.getLong();
            int computed = in.crc();
            int stored = in.getIntNoCrc();
            if (stored != computed || stored != ref.crc()) {
                throw in.bad("checksum mismatch (CRC-32C " + Integer.toHexString(computed) + ", trailer "
                        + Integer.toHexString(stored) + ", manifest " + Integer.toHexString(ref.crc()) + "): the file is damaged");
            }
            if (stated != total || total != ref.rows()) {
                throw in.bad("holds " + total + " rows, its trailer says " + stated + ", the manifest " + ref.rows());
            }
            if (in.offset() != size) {
                throw in.bad(size - in.offset() + " bytes follow its trailer");
            }
        }
    }

    /** Sequential little-endian reads through one buffer, with a running CRC-32C of what was consumed. */
    private static final class Reader {
        private final FileChannel ch;
        private final Path file;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(IO_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        private final CRC32C crc = new CRC32C();
        private long offset;

        Reader(FileChannel ch, Path file) {
            this.ch = ch;
            this.file = file;
            buf.limit(0);
        }

        long offset() {
            return offset;
        }

        int crc() {
            return (int) crc.getValue();
        }

        IOException bad(String what) {
            return new IOException("hot dump " + file + ": " + what);
        }

        private void need(int n) throws IOException {
            if (buf.remaining() >= n) {
                return;
            }
            buf.compact();
            while (buf.position() < n) {
                if (ch.read(buf) < 0) {
                    buf.flip();
                    throw bad("ends at byte " + (offset + buf.remaining()) + " inside a record (truncated)");
                }
            }
            buf.flip();
        }

        private void consumed(int n) {
            crc.update(buf.slice(buf.position(), n));
            buf.position(buf.position() + n);
            offset += n;
        }

        int getInt() throws IOException {
            need(4);
            int v = buf.getInt(buf.position());
            consumed(4);
            return v;
        }

        int getIntNoCrc() throws IOException {
            need(4);
            int v = buf.getInt(buf.position());
            buf.position(buf.position() + 4);
            offset += 4;
            return v;
        }

        long getLong() throws IOException {
            need(8);
            long v = buf.getLong(buf.position());
            consumed(8);
            return v;
        }

        /** Consumes {@code n} bytes, copying them into {@code dst} from 0 when it is not null. */
        void bytes(ByteBuffer dst, int n) throws IOException {
            int at = 0;
            while (at < n) {
                if (!buf.hasRemaining()) {
                    need(1);
                }
                int k = Math.min(n - at, buf.remaining());
                if (dst != null) {
                    dst.put(at, buf, buf.position(), k);
                }
                consumed(k);
                at += k;
            }
        }
    }
}

package dev.ember.cache.durability;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;

/**
 * Checkpoint state too big for the manifest (a popularity counter for every row: 8 bytes a row),
 * streamed into a file of its own, one per checkpoint, that the manifest names ({@link Ref}). The
 * writer streams straight from where the state lives (off-heap) through a small buffer, so a
 * checkpoint's heap use does not grow with the tables. Written and forced before the manifest
 * that names it is published; the previous checkpoint's file is deleted only after.
 *
 * <pre>
 *  side.&lt;name&gt;.&lt;epoch&gt;   the writer's bytes, as written; the manifest's Ref holds their length and CRC-32C
 * </pre>
 *
 * A reader gets the bytes only from a file of the recorded length and CRC-32C, so a damaged or
 * truncated file is reported, never taken for state.
 */
public final class SideFile {
    private static final String PREFIX = "side.";
    private static final Pattern NAME = Pattern.compile("[a-z0-9-]{1,64}");
    private static final int IO_BYTES = 1 << 16;

    private SideFile() {
    }

    /** Reads back what the state's {@link Blobs.Fields} wrote, to the last byte. */
    public interface Reader<T> {
        T readFrom(DataInput in) throws IOException;
    }

    /** Throws unless {@code name} may name a side file: 1-64 of a-z, 0-9 and '-'. */
    public static String checkName(String name) {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("side file name '" + name + "' must be 1-64 of a-z, 0-9 and '-'");
        }
        return name;
    }

    /** The file holding state {@code name} for the checkpoint of epoch {@code epoch}. */
    public static String fileName(String name, long epoch) {
        return PREFIX + checkName(name) + "." + epoch;
    }

    /** Whether {@code file} is the name of a side file (any state, any epoch). */
    public static boolean isSideName(String file) {
        int dot = file.lastIndexOf('.');
        return file.startsWith(PREFIX) && dot > PREFIX.length()
                && NAME.matcher(file.substring(PREFIX.length(), dot)).matches()
                && file.substring(dot + 1).chars().allMatch(Character::isDigit) && dot + 1 < file.length();
    }

    /** What a manifest records of a side file: its name in the store directory, length and CRC-32C. */
    public record Ref(String file, long length, int crc) {
        public byte[] toBytes() {
            return Blobs.of(out -> {
                out.writeUTF(file);
                out.writeLong(length);
                out.writeInt(crc);
            });
        }

        public static Ref fromBytes(byte[] blob, String source) throws IOException {
            try {
                DataInputStream in = new DataInputStream(new ByteArrayInputStream(blob));
                Ref r = new Ref(in.readUTF(), in.readLong(), in.readInt());
                if (!isSideName(r.file) || r.length < 0) {
                    throw new IOException(source + ": a side file reference names " + r + ", not a side file");
                }
                return r;
            } catch (EOFException e) {
                throw new IOException(source + ": a side file reference is truncated", e);
            }
        }
    }

    /** Writes {@code state}'s bytes, streamed, into a new {@code file}, forced to the device; returns its reference. */
    public static Ref write(Path file, Blobs.Fields state) throws IOException {
        CRC32C crc = new CRC32C();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            CountingStream counted = new CountingStream(Channels.newOutputStream(ch));
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(new CheckedOutputStream(counted, crc), IO_BYTES));
            state.writeTo(out);
            out.flush();
            ch.force(true);
            return new Ref(file.getFileName().toString(), counted.bytes, (int) crc.getValue());
        }
    }

    /**
     * Reads {@code file} (named by {@code ref}) through {@code reader}, which must consume every
     * byte. The file's length and CRC-32C are checked first, in a pass of their own, so a damaged
     * or truncated file is reported (an IOException saying so) before the reader sees a byte.
     */
    public static <T> T read(Path file, Ref ref, Reader<T> reader) throws IOException {
        long length = Files.size(file);
        if (length != ref.length()) {
            throw new IOException(file + " holds " + length + " bytes, its checkpoint wrote " + ref.length()
                    + ": the file is damaged");
        }
        int crc = crcOf(file);
        if (crc != ref.crc()) {
            throw new IOException(file + ": checksum mismatch (CRC-32C " + Integer.toHexString(crc)
                    + ", its checkpoint wrote " + Integer.toHexString(ref.crc()) + "): the file is damaged");
        }
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), IO_BYTES)) {
            T value = reader.readFrom(new DataInputStream(in));
            if (in.read() != -1) {
                throw new IOException(file + " holds bytes after the state its reader takes: written by another version?");
            }
            return value;
        } catch (EOFException e) {
            throw new IOException(file + " ends before the state its reader takes: written by another version?", e);
        }
    }

    private static int crcOf(Path file) throws IOException {
        CRC32C crc = new CRC32C();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocateDirect(IO_BYTES);
            while (ch.read(buf) >= 0) {
                buf.flip();
                crc.update(buf);
                buf.clear();
            }
        }
        return (int) crc.getValue();
    }

    /** Counts the bytes that reach the file. */
    private static final class CountingStream extends java.io.FilterOutputStream {
        long bytes;

        CountingStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            bytes++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            bytes += len;
        }
    }
}

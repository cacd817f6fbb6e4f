package dev.ember.cache.cold;

import net.openhft.chronicle.core.values.LongValue;
import net.openhft.chronicle.hash.ChronicleHashCorruption;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Creating, opening and preallocating the persisted Chronicle Map of one table: keys
 * {@link LongValue}, values the fixed-size row bytes.
 *
 * <p>Chronicle's {@code entries(n)} sizes the file's first tiers; past them it appends extra tiers
 * (the file grows). Ember never stores more than a table's capacity and sizes the map
 * {@link #SLACK} above it, so a table stays within the file written at creation, whose every block
 * {@link #preallocate} has allocated: a full disk is an error at creation, never a SIGBUS later.
 */
public final class MapFiles {
    static {
        NoCallsOut.ensure();
    }

    /** Chronicle's entries are sized this much above the capacity Ember enforces. */
    public static final double SLACK = 1.10;

    private MapFiles() {
    }

    static ChronicleMapBuilder<LongValue, byte[]> builder(String table, long capacity, int rowBytes) {
        return ChronicleMapBuilder.of(LongValue.class, byte[].class)
                .name(table)
                .entries(Math.max(64, (long) Math.ceil(capacity * SLACK)))
                .constantValueSizeBySample(new byte[rowBytes])
                .checksumEntries(true);
    }

    /** Creates a new map file (refused if one exists) and allocates every block of it. */
    public static ChronicleMap<LongValue, byte[]> create(File file, String table, long capacity, int rowBytes)
            throws IOException {
        if (file.exists()) {
            throw new IOException(file + " already exists");
        }
        ChronicleMap<LongValue, byte[]> map = builder(table, capacity, rowBytes).createPersistedTo(file);
        try {
            preallocate(file);
        } catch (IOException | RuntimeException e) {
            map.close();
            Files.deleteIfExists(file.toPath());
            throw e;
        }
        return map;
    }

    /**
     * Opens an existing map file. With {@code recover}, runs Chronicle's recovery (exclusive: after
     * a crash, locks and half-written entries are repaired); corruptions it reports are added to
     * {@code corruptions}.
     */
    public static ChronicleMap<LongValue, byte[]> open(File file, String table, long capacity, int rowBytes,
                                                      boolean recover, List<String> corruptions) throws IOException {
        if (!file.isFile()) {
            throw new IOException(file + " is missing");
        }
        ChronicleMapBuilder<LongValue, byte[]> b = builder(table, capacity, rowBytes);
        if (recover) {
            ChronicleHashCorruption.Listener listener = c -> corruptions.add(
                    "segment " + c.segmentIndex() + ": " + c.message());
            return b.recoverPersistedTo(file, true, listener);
        }
        return b.createPersistedTo(file);
    }

    /**
     * Makes the file system allocate every block of {@code file} by reading each chunk and writing
     * it back unchanged (the map is idle: nothing else writes it). A full disk fails here with an
     * IOException naming the file, instead of a SIGBUS on some later write through the mapping.
     */
    public static void preallocate(File file) throws IOException {
        long size = file.length();
        long usable = Files.getFileStore(file.toPath().toAbsolutePath().getParent()).getUsableSpace();
        if (usable < size) {
            throw new IOException("not enough disk space for " + file + ": it needs " + size
                    + " bytes, the file system has " + usable + " usable; free space or lower the table's capacity");
        }
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        try (FileChannel ch = FileChannel.open(file.toPath(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            for (long pos = 0; pos < size; ) {
                buf.clear();
                if (size - pos < buf.capacity()) {
                    buf.limit((int) (size - pos));
                }
                while (buf.hasRemaining()) {
                    if (ch.read(buf, pos + buf.position()) < 0) {
                        throw new IOException(file + " shrank while being preallocated");
                    }
                }
                buf.flip();
                while (buf.hasRemaining()) {
                    ch.write(buf, pos + buf.position());
                }
                pos += buf.limit();
            }
            ch.force(true);
        } catch (IOException e) {
            throw new IOException("could not allocate " + size + " bytes for " + file + " (disk full?): "
                    + e.getMessage() + "; free space or lower the table's capacity", e);
        }
    }

    /** Forces the map's dirty pages to the device (Linux: fsync flushes pages written through mmap). */
    public static void force(File file) throws IOException {
        try (FileChannel ch = FileChannel.open(file.toPath(), StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }
}

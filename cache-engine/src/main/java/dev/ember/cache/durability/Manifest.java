package dev.ember.cache.durability;

import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * Everything a store needs to resume bit-exactly, as of one completed checkpoint. Written last
 * and atomically at each checkpoint; the table files and undo log are interpreted against it.
 *
 * <pre>
 *  "EMBRMANI" | version:int | epoch:long | step:long | seed:long | timeMillis:long
 *  | rngState: n:int, n x long
 *  | tables: n:int, n x (name:UTF | rows:long | dim:int | optimizer:UTF | capacity:long | rowsStored:long)
 *  | blobs: n:int, n x (name:UTF | len:int | bytes)
 *  | crc32c:int over everything before it
 * </pre>
 *
 * @param epoch checkpoints completed since the store was created (0 = creation)
 * @param tables in table-number order: the number is what {@code RowInit} hashes
 */
public record Manifest(long epoch, long step, long seed, long timeMillis, long[] rngState,
                       List<TableState> tables, Map<String, byte[]> blobs) {
    private static final long MAGIC = 0x454D42524D414E49L; // "EMBRMANI"
    private static final int VERSION = 1;

    /** One table as of the checkpoint. */
    public record TableState(TableSpec spec, long capacity, long rowsStored) {
    }

    public Manifest {
        Objects.requireNonNull(rngState, "rngState");
        tables = List.copyOf(tables);
        blobs = Collections.unmodifiableMap(new LinkedHashMap<>(blobs));
    }

    public TableState table(String name) {
        for (TableState t : tables) {
            if (t.spec().name().equals(name)) {
                return t;
            }
        }
        return null;
    }

    public int tableIndex(String name) {
        for (int i = 0; i < tables.size(); i++) {
            if (tables.get(i).spec().name().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    public Manifest withTables(List<TableState> newTables) {
        return new Manifest(epoch, step, seed, timeMillis, rngState, newTables, blobs);
    }

    public byte[] encode() {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeLong(MAGIC);
            out.writeInt(VERSION);
            out.writeLong(epoch);
            out.writeLong(step);
            out.writeLong(seed);
            out.writeLong(timeMillis);
            out.writeInt(rngState.length);
            for (long s : rngState) {
                out.writeLong(s);
            }
            out.writeInt(tables.size());
            for (TableState t : tables) {
                out.writeUTF(t.spec().name());
                out.writeLong(t.spec().rows());
                out.writeInt(t.spec().dim());
                out.writeUTF(t.spec().optimizer().name());
                out.writeLong(t.capacity());
                out.writeLong(t.rowsStored());
            }
            out.writeInt(blobs.size());
            for (Map.Entry<String, byte[]> b : blobs.entrySet()) {
                out.writeUTF(b.getKey());
                out.writeInt(b.getValue().length);
                out.write(b.getValue());
            }
            out.flush();
            CRC32C crc = new CRC32C();
            crc.update(bytes.toByteArray());
            out.writeInt((int) crc.getValue());
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Decodes and checks a manifest; {@code source} names the file in errors. */
    public static Manifest decode(byte[] data, String source) throws IOException {
        if (data.length < 12) {
            throw new IOException(source + ": manifest truncated (" + data.length + " bytes)");
        }
        CRC32C crc = new CRC32C();
        crc.update(data, 0, data.length - 4);
        int stored = ((data[data.length - 4] & 0xFF) << 24) | ((data[data.length - 3] & 0xFF) << 16)
                | ((data[data.length - 2] & 0xFF) << 8) | (data[data.length - 1] & 0xFF);
        if ((int) crc.getValue() != stored) {
            throw new IOException(source + ": manifest checksum mismatch (file damaged)");
        }
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(data, 0, data.length - 4));
        if (in.readLong() != MAGIC) {
            throw new IOException(source + ": not an Ember manifest (bad magic)");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException(source + ": manifest version " + version + " is not supported (expected " + VERSION + ")");
        }
        long epoch = in.readLong();
        long step = in.readLong();
        long seed = in.readLong();
        long time = in.readLong();
        long[] rng = new long[in.readInt()];
        for (int i = 0; i < rng.length; i++) {
            rng[i] = in.readLong();
        }
        int nt = in.readInt();
        List<TableState> tables = new ArrayList<>(nt);
        for (int i = 0; i < nt; i++) {
            String name = in.readUTF();
            long rows = in.readLong();
            int dim = in.readInt();
            Optimizer opt = Optimizer.valueOf(in.readUTF());
            tables.add(new TableState(new TableSpec(name, rows, dim, opt), in.readLong(), in.readLong()));
        }
        int nb = in.readInt();
        Map<String, byte[]> blobs = new LinkedHashMap<>();
        for (int i = 0; i < nb; i++) {
            String name = in.readUTF();
            byte[] b = new byte[in.readInt()];
            in.readFully(b);
            blobs.put(name, b);
        }
        return new Manifest(epoch, step, seed, time, rng, tables, blobs);
    }
}

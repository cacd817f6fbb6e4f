package dev.ember.trainer.data;

import dev.ember.trainer.data.binary.BinaryLayout;
import dev.ember.trainer.data.binary.MappedRegion;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A converted data file, memory-mapped (layout in {@link BinaryLayout}). Reads are copies out of
 * the mapping into a reusable {@link Batch}; thread-safe (one batch per thread). The mapping
 * lives until this object is garbage.
 */
public final class BinaryDataset {
    /** The data file's name inside a conversion folder. */
    public static final String DATA_FILE = "data.bin";

    private final Path file;
    private final BinaryLayout layout;
    private final MappedRegion labels;
    private final MappedRegion dense;
    private final MappedRegion[] ids = new MappedRegion[CriteoSchema.TABLES];
    private final MappedRegion[] offsets = new MappedRegion[CriteoSchema.TABLES];

    private BinaryDataset(Path file, FileChannel ch, BinaryLayout layout) throws IOException {
        this.file = file;
        this.layout = layout;
        long n = layout.samples();
        labels = new MappedRegion(ch, layout.labelsOffset(), n);
        dense = new MappedRegion(ch, layout.denseOffset(), n * 4L * CriteoSchema.DENSE);
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            ids[t] = new MappedRegion(ch, layout.idsOffset(t), layout.idsCount(t) * 4L);
            if (layout.fixedBag(t) < 0) {
                offsets[t] = new MappedRegion(ch, layout.offsetsOffset(t), (n + 1) * 8L);
            }
        }
    }

    /** Opens a data file, or the {@value #DATA_FILE} inside a conversion folder. */
    public static BinaryDataset open(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(DATA_FILE) : path;
        if (!Files.isRegularFile(file)) {
            throw new IOException("no converted data at " + file + " (run `ember convert` first)");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer h = ByteBuffer.allocate(BinaryLayout.HEADER);
            while (h.hasRemaining() && ch.read(h, h.position()) > 0) {
                // keep reading
            }
            BinaryLayout layout = BinaryLayout.read(h.flip(), ch.size(), file.toString());
            return new BinaryDataset(file, ch, layout);
        }
    }

    public Path file() {
        return file;
    }

    public BinaryLayout layout() {
        return layout;
    }

    public long samples() {
        return layout.samples();
    }

    /** Rows of table {@code t} (ids are below it). */
    public int rows(int t) {
        return layout.rows(t);
    }

    /** Every sample. */
    public DataPart all() {
        return new DataPart(this, 0, samples());
    }

    /** The training part: samples before the held-out part. */
    public DataPart train() {
        return new DataPart(this, 0, layout.trainSamples());
    }

    /** The held-out part (the last samples of the file), as DLRM splits by position. */
    public DataPart test() {
        return new DataPart(this, layout.trainSamples(), samples());
    }

    /** Replaces {@code out}'s content with samples {@code [first, first + count)}. */
    public void read(long first, int count, Batch out) {
        if (count > out.capacity() || first < 0 || first + count > samples() || count < 0) {
            throw new IndexOutOfBoundsException("samples [" + first + ", " + (first + count) + ") of " + samples()
                    + " into a batch of " + out.capacity());
        }
        byte[] lb = out.byteScratch(count);
        labels.getBytes(first, lb, 0, count);
        float[] lab = out.labels();
        for (int i = 0; i < count; i++) {
            lab[i] = lb[i];
        }
        dense.getFloats(first * CriteoSchema.DENSE, out.dense(), 0, count * CriteoSchema.DENSE);
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            int[] off = out.offsets(t);
            int k = layout.fixedBag(t);
            if (k >= 0) {
                for (int i = 0; i <= count; i++) {
                    off[i] = i * k;
                }
                out.ensureIds(t, count * k);
                ids[t].getInts(first * k, out.ids(t), 0, count * k);
            } else {
                long[] s = out.scratch(count + 1);
                offsets[t].getLongs(first, s, 0, count + 1);
                long base = s[0];
                for (int i = 0; i <= count; i++) {
                    off[i] = (int) (s[i] - base);
                }
                out.ensureIds(t, off[count]);
                ids[t].getInts(base, out.ids(t), 0, off[count]);
            }
        }
        out.setSize(count);
    }

    /** Appends sample {@code index} to {@code out} (for samplers; slower than {@link #read}). */
    public void append(long index, Batch out) {
        int at = out.size();
        if (at == out.capacity()) {
            throw new IllegalStateException("batch is full (" + out.capacity() + " samples)");
        }
        byte[] lb = out.byteScratch(1);
        labels.getBytes(index, lb, 0, 1);
        out.labels()[at] = lb[0];
        dense.getFloats(index * CriteoSchema.DENSE, out.dense(), at * CriteoSchema.DENSE, CriteoSchema.DENSE);
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            int[] off = out.offsets(t);
            int k = layout.fixedBag(t);
            long from;
            int n;
            if (k >= 0) {
                from = index * k;
                n = k;
            } else {
                from = offsets[t].getLong(index);
                n = (int) (offsets[t].getLong(index + 1) - from);
            }
            out.ensureIds(t, off[at] + n);
            ids[t].getInts(from, out.ids(t), off[at], n);
            off[at + 1] = off[at] + n;
        }
        out.setSize(at + 1);
    }
}

package dev.ember.trainer.data.binary;

import dev.ember.trainer.data.CriteoSchema;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Where everything lives in a converted data file ({@code data.bin}). Column-major so a batch of
 * consecutive samples is one contiguous copy per column; little-endian; every section starts on
 * a 4096-byte boundary.
 *
 * <pre>
 * header (4096 bytes)
 *   offset size
 *    0     8    magic "EMBRDAT1"
 *    8     4    version (1)
 *   12     4    dense features D (13)
 *   16     4    tables T (26)
 *   20     4    header bytes (4096)
 *   24     8    samples N
 *   32     8    labels offset
 *   40     8    dense offset
 *   48     8    file size
 *   56     8    training samples (samples 0..train-1 train, the rest is held out)
 *   64+40t      table t:  8 ids offset | 8 ids count | 8 offsets offset (0 = fixed bag)
 *                         4 fixed bag size (-1 = variable) | 4 rows | 8 reserved
 * labels   u8 [N]                0 or 1
 * dense    f32[N][D]             sample-major, log(1 + max(x, 0)) already applied
 * for each table t:
 *   ids     i32[ids count]       row ids of all bags, sample after sample
 *   offsets i64[N + 1]           only for variable bags: sample i's ids are
 *                                ids[offsets[i] .. offsets[i+1]); fixed bags of size k
 *                                have them at [i*k, (i+1)*k)
 * </pre>
 * One-hot Criteo data thus costs {@code 1 + 4*13 + 4*26 = 157} bytes a sample.
 */
public final class BinaryLayout {
    public static final long MAGIC = 0x3154414452424d45L; // "EMBRDAT1" little-endian
    public static final int VERSION = 1;
    public static final int HEADER = 4096;
    public static final int ALIGN = 4096;
    private static final int TABLE_ENTRY = 40;

    private final long samples;
    private final long trainSamples;
    private final long labelsOffset;
    private final long denseOffset;
    private final long[] idsOffset = new long[CriteoSchema.TABLES];
    private final long[] idsCount = new long[CriteoSchema.TABLES];
    private final long[] offsetsOffset = new long[CriteoSchema.TABLES];
    private final int[] fixedBag = new int[CriteoSchema.TABLES];
    private final int[] rows = new int[CriteoSchema.TABLES];
    private final long fileSize;

    private BinaryLayout(long samples, long trainSamples, long[] idsCount, int[] fixedBag, int[] rows) {
        this.samples = samples;
        this.trainSamples = trainSamples;
        long at = HEADER;
        labelsOffset = at;
        at = align(at + samples);
        denseOffset = at;
        at = align(at + samples * 4L * CriteoSchema.DENSE);
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            this.idsCount[t] = idsCount[t];
            this.fixedBag[t] = fixedBag[t];
            this.rows[t] = rows[t];
            idsOffset[t] = at;
            at = align(at + idsCount[t] * 4L);
            if (fixedBag[t] < 0) {
                offsetsOffset[t] = at;
                at = align(at + (samples + 1) * 8L);
            }
        }
        fileSize = at;
    }

    private static long align(long x) {
        return (x + ALIGN - 1) & -ALIGN;
    }

    /**
     * Plans a file of {@code samples} samples whose table {@code t} holds {@code idsCount[t]}
     * ids in bags of size {@code fixedBag[t]} (or -1 if they vary) over {@code rows[t]} rows.
     */
    public static BinaryLayout plan(long samples, long trainSamples, long[] idsCount, int[] fixedBag, int[] rows) {
        if (trainSamples < 0 || trainSamples > samples) {
            throw new IllegalArgumentException("train samples " + trainSamples + " outside [0, " + samples + "]");
        }
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            if (fixedBag[t] >= 0 && idsCount[t] != samples * fixedBag[t]) {
                throw new IllegalArgumentException("table " + t + ": " + idsCount[t] + " ids is not " + samples
                        + " bags of " + fixedBag[t]);
            }
        }
        return new BinaryLayout(samples, trainSamples, idsCount, fixedBag, rows);
    }

    /** The header bytes. */
    public ByteBuffer header() {
        ByteBuffer b = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, MAGIC).putInt(8, VERSION).putInt(12, CriteoSchema.DENSE).putInt(16, CriteoSchema.TABLES)
                .putInt(20, HEADER).putLong(24, samples).putLong(32, labelsOffset).putLong(40, denseOffset)
                .putLong(48, fileSize).putLong(56, trainSamples);
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            int at = 64 + TABLE_ENTRY * t;
            b.putLong(at, idsOffset[t]).putLong(at + 8, idsCount[t]).putLong(at + 16, offsetsOffset[t])
                    .putInt(at + 24, fixedBag[t]).putInt(at + 28, rows[t]);
        }
        return b;
    }

    /** Reads and checks a header; {@code what} names the file in errors. */
    public static BinaryLayout read(ByteBuffer header, long actualSize, String what) throws IOException {
        ByteBuffer b = header.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.limit() < HEADER || b.getLong(0) != MAGIC) {
            throw new IOException(what + ": not an Ember data file (bad magic)");
        }
        if (b.getInt(8) != VERSION) {
            throw new IOException(what + ": data file version " + b.getInt(8) + ", this build reads " + VERSION
                    + " (convert the text again)");
        }
        if (b.getInt(12) != CriteoSchema.DENSE || b.getInt(16) != CriteoSchema.TABLES) {
            throw new IOException(what + ": has " + b.getInt(12) + " dense and " + b.getInt(16) + " tables, expected "
                    + CriteoSchema.DENSE + " and " + CriteoSchema.TABLES);
        }
        long n = b.getLong(24);
        long[] ids = new long[CriteoSchema.TABLES];
        int[] fixed = new int[CriteoSchema.TABLES];
        int[] rows = new int[CriteoSchema.TABLES];
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            int at = 64 + TABLE_ENTRY * t;
            ids[t] = b.getLong(at + 8);
            fixed[t] = b.getInt(at + 24);
            rows[t] = b.getInt(at + 28);
        }
        BinaryLayout l = plan(n, b.getLong(56), ids, fixed, rows);
        if (l.fileSize != b.getLong(48) || l.labelsOffset != b.getLong(32) || l.denseOffset != b.getLong(40)) {
            throw new IOException(what + ": header is inconsistent (corrupt file?)");
        }
        if (actualSize != l.fileSize) {
            throw new IOException(what + ": is " + actualSize + " bytes, header says " + l.fileSize
                    + " (truncated or still being written; convert again with --force)");
        }
        return l;
    }

    public long samples() {
        return samples;
    }

    public long trainSamples() {
        return trainSamples;
    }

    public long labelsOffset() {
        return labelsOffset;
    }

    public long denseOffset() {
        return denseOffset;
    }

    public long idsOffset(int t) {
        return idsOffset[t];
    }

    public long idsCount(int t) {
        return idsCount[t];
    }

    /** Where table {@code t}'s offsets start, or 0 when its bags have a fixed size. */
    public long offsetsOffset(int t) {
        return offsetsOffset[t];
    }

    /** Table {@code t}'s bag size, or -1 if it varies. */
    public int fixedBag(int t) {
        return fixedBag[t];
    }

    public int rows(int t) {
        return rows[t];
    }

    public long fileSize() {
        return fileSize;
    }
}

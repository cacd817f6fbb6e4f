package dev.ember.trainer.data.binary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.channels.FileChannel;

/**
 * A read-only memory-mapped range of a file, of any length: mapped as segments of
 * {@value #SEGMENT} bytes (Java 17 maps at most 2 GiB at once). Reads are absolute and
 * thread-safe; elements never straddle segments when the range starts 8-byte aligned.
 */
public final class MappedRegion {
    static final int SEGMENT = 1 << 30;
    private final int segment;
    private final ByteBuffer[] bytes;
    private final FloatBuffer[] floats;
    private final IntBuffer[] ints;
    private final LongBuffer[] longs;
    private final long length;

    public MappedRegion(FileChannel ch, long offset, long length) throws IOException {
        this(ch, offset, length, SEGMENT);
    }

    /** With small segments, tests read across segment boundaries. */
    MappedRegion(FileChannel ch, long offset, long length, int segment) throws IOException {
        if ((offset & 7) != 0 || (segment & 7) != 0) {
            throw new IllegalArgumentException("region offset " + offset + " or segment " + segment
                    + " is not 8-byte aligned");
        }
        this.length = length;
        this.segment = segment;
        int n = (int) ((length + segment - 1) / segment);
        bytes = new ByteBuffer[n];
        floats = new FloatBuffer[n];
        ints = new IntBuffer[n];
        longs = new LongBuffer[n];
        for (int i = 0; i < n; i++) {
            long len = Math.min(segment, length - (long) i * segment);
            ByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, offset + (long) i * segment, len)
                    .order(ByteOrder.LITTLE_ENDIAN);
            bytes[i] = b;
            floats[i] = b.asFloatBuffer();
            ints[i] = b.asIntBuffer();
            longs[i] = b.asLongBuffer();
        }
    }

    public long length() {
        return length;
    }

    /** Copies bytes {@code [pos, pos + len)} of the region into {@code dst[off..]}. */
    public void getBytes(long pos, byte[] dst, int off, int len) {
        while (len > 0) {
            int seg = (int) (pos / segment);
            int in = (int) (pos % segment);
            int n = Math.min(len, segment - in);
            bytes[seg].get(in, dst, off, n);
            pos += n;
            off += n;
            len -= n;
        }
    }

    /** Copies floats {@code [index, index + len)} (counted in floats) into {@code dst[off..]}. */
    public void getFloats(long index, float[] dst, int off, int len) {
        final int per = segment / 4;
        while (len > 0) {
            int seg = (int) (index / per);
            int in = (int) (index % per);
            int n = Math.min(len, per - in);
            floats[seg].get(in, dst, off, n);
            index += n;
            off += n;
            len -= n;
        }
    }

    /** Copies ints {@code [index, index + len)} into {@code dst[off..]}. */
    public void getInts(long index, int[] dst, int off, int len) {
        final int per = segment / 4;
        while (len > 0) {
            int seg = (int) (index / per);
            int in = (int) (index % per);
            int n = Math.min(len, per - in);
            ints[seg].get(in, dst, off, n);
            index += n;
            off += n;
            len -= n;
        }
    }

    /** Long number {@code index} of the region. */
    public long getLong(long index) {
        final int per = segment / 8;
        return longs[(int) (index / per)].get((int) (index % per));
    }

    /** Copies longs {@code [index, index + len)} into {@code dst[off..]}. */
    public void getLongs(long index, long[] dst, int off, int len) {
        final int per = segment / 8;
        while (len > 0) {
            int seg = (int) (index / per);
            int in = (int) (index % per);
            int n = Math.min(len, per - in);
            longs[seg].get(in, dst, off, n);
            index += n;
            off += n;
            len -= n;
        }
    }
}

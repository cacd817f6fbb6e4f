package dev.ember.trainer.data.text;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A run of whole lines of a text file, read by {@link BlockReader}; {@code seq} numbers blocks
 * in file order from 0. The array is reused from block to block.
 */
public final class TextBlock {
    byte[] data;
    int length;
    long seq;

    public TextBlock(int capacity) {
        this.data = new byte[capacity];
    }

    public byte[] data() {
        return data;
    }

    /** Bytes of whole lines held in {@link #data()}, the last terminator included. */
    public int length() {
        return length;
    }

    public long seq() {
        return seq;
    }

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long NEWLINES = 0x0A0A0A0A0A0A0A0AL;
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;

    /** Where the line starting at {@code from} ends (its {@code '\n'} or {@link #length()}). */
    public int lineEnd(int from) {
        byte[] b = data;
        int n = length;
        int i = from;
        // eight bytes at a time: the lowest flagged byte of (x - 1s) & ~x & highs is the first zero byte of x
        while (i + 8 <= n) {
            long x = (long) LONGS.get(b, i) ^ NEWLINES;
            long t = (x - ONES) & ~x & HIGHS;
            if (t != 0) {
                return i + (Long.numberOfTrailingZeros(t) >>> 3);
            }
            i += 8;
        }
        for (; i < n; i++) {
            if (b[i] == '\n') {
                return i;
            }
        }
        return n;
    }
}

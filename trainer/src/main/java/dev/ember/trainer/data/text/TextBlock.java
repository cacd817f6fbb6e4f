package dev.ember.trainer.data.text;

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

    /** Where the line starting at {@code from} ends (its {@code '\n'} or {@link #length()}). */
    public int lineEnd(int from) {
        byte[] b = data;
        int n = length;
        for (int i = from; i < n; i++) {
            if (b[i] == '\n') {
                return i;
            }
        }
        return n;
    }
}

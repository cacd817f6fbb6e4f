package dev.ember.trainer.data.text;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.GZIPInputStream;

/**
 * Reads a text file, plain or gzip (detected by its magic bytes, not its name), as blocks of
 * whole lines. Sequential; feed the blocks to as many parsing threads as you like.
 */
public final class BlockReader implements Closeable {
    private final FileChannel channel;
    private final InputStream in;
    private final long fileSize;
    private final boolean gzip;
    private byte[] carry = new byte[0];
    private int carryLength;
    private boolean eof;
    private long seq;

    private BlockReader(FileChannel channel, InputStream in, long fileSize, boolean gzip) {
        this.channel = channel;
        this.in = in;
        this.fileSize = fileSize;
        this.gzip = gzip;
    }

    /** Opens {@code path}; gzip is recognised by its first two bytes. */
    public static BlockReader open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            long size = ch.size();
            java.nio.ByteBuffer magic = java.nio.ByteBuffer.allocate(2);
            ch.read(magic, 0);
            boolean gz = magic.position() == 2 && (magic.get(0) & 0xff) == 0x1f && (magic.get(1) & 0xff) == 0x8b;
            InputStream raw = Channels.newInputStream(ch);
            // plain files are read straight into the (large) blocks: no buffer between
            InputStream in = gz ? new GZIPInputStream(raw, 1 << 16) : raw;
            return new BlockReader(ch, in, size, gz);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    public boolean gzip() {
        return gzip;
    }

    /** Size of the file on disk (compressed, for gzip). */
    public long fileSize() {
        return fileSize;
    }

    /** Bytes of the file consumed so far (compressed, for gzip): for progress. */
    public long position() {
        try {
            return channel.position();
        } catch (IOException e) {
            return 0;
        }
    }

    /**
     * Fills {@code block} with the next whole lines, about {@code block.data().length} bytes
     * (more if one line is longer). Returns false at the end of the file.
     */
    public boolean next(TextBlock block) throws IOException {
        byte[] d = block.data;
        if (d.length < carryLength + 1) {
            d = block.data = new byte[Math.max(d.length * 2, carryLength + 1)];
        }
        System.arraycopy(carry, 0, d, 0, carryLength);
        int len = carryLength;
        carryLength = 0;
        int scanFrom = 0;
        while (true) {
            while (len < d.length && !eof) {
                int r = in.read(d, len, d.length - len);
                if (r < 0) {
                    eof = true;
                } else {
                    len += r;
                }
            }
            int last = -1;
            for (int i = len - 1; i >= scanFrom; i--) {
                if (d[i] == '\n') {
                    last = i;
                    break;
                }
            }
            if (last >= 0) {
                int rest = len - last - 1;
                if (carry.length < rest) {
                    carry = new byte[Math.max(rest, d.length / 4)];
                }
                System.arraycopy(d, last + 1, carry, 0, rest);
                carryLength = rest;
                block.length = last + 1;
                break;
            }
            if (eof) {
                block.length = len;
                break;
            }
            // one line longer than the block: grow and keep reading
            scanFrom = len;
            d = block.data = java.util.Arrays.copyOf(d, d.length * 2);
        }
        if (block.length == 0) {
            return false;
        }
        block.seq = seq++;
        return true;
    }

    @Override
    public void close() throws IOException {
        try {
            in.close();
        } finally {
            channel.close();
        }
    }
}

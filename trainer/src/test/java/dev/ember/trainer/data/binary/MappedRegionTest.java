package dev.ember.trainer.data.binary;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Reads that cross segment boundaries (1 GiB in use; 4 KiB here) return the file's bytes. */
class MappedRegionTest {
    @TempDir
    Path dir;

    @Test
    void readsAcrossSegmentsMatchTheFile() throws IOException {
        byte[] content = new byte[64 * 1024 + 40];
        new Random(1).nextBytes(content);
        Path f = dir.resolve("r.bin");
        Files.write(f, content);
        long offset = 4096;
        ByteBuffer whole = ByteBuffer.wrap(content).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            MappedRegion r = new MappedRegion(ch, offset, content.length - offset, 4096);
            Random rnd = new Random(2);
            for (int i = 0; i < 2000; i++) {
                int len = 1 + rnd.nextInt(3000);
                long at = rnd.nextInt((int) (r.length() - 8L * len > 0 ? r.length() - 8L * len : 1));
                byte[] b = new byte[len];
                r.getBytes(at, b, 0, len);
                assertArrayEquals(Arrays.copyOfRange(content, (int) (offset + at), (int) (offset + at + len)), b);
                long fi = at / 4;
                float[] fl = new float[len];
                r.getFloats(fi, fl, 0, len);
                int[] in = new int[len];
                r.getInts(fi, in, 0, len);
                for (int k = 0; k < len; k++) {
                    assertEquals(whole.getFloat((int) (offset + 4 * (fi + k))), fl[k]);
                    assertEquals(whole.getInt((int) (offset + 4 * (fi + k))), in[k]);
                }
                long li = at / 8;
                int ln = (int) Math.min(len, r.length() / 8 - li);
                long[] lo = new long[ln];
                r.getLongs(li, lo, 0, ln);
                for (int k = 0; k < ln; k++) {
                    assertEquals(whole.getLong((int) (offset + 8 * (li + k))), lo[k]);
                    assertEquals(lo[k], r.getLong(li + k));
                }
            }
        }
    }
}

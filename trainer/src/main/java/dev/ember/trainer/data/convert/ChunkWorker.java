package dev.ember.trainer.data.convert;

import dev.ember.trainer.data.CriteoSchema;
import dev.ember.trainer.data.text.CriteoLineParser;
import dev.ember.trainer.data.text.TextBlock;
import dev.ember.trainer.data.vocab.KeyDictionary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One parsing thread of a conversion: parses blocks, numbers each table's distinct keys in a
 * dictionary of its own (counting them and noting where each was first seen) and appends the
 * block's columns, with local ids, to its temporary file as a {@link Segment}.
 */
final class ChunkWorker {
    /** A key's first position: block seq (bits 40+), sample in block (12-39), place in bag (0-11). */
    static long position(long seq, int sample, int inBag) {
        return (seq << 40) | ((long) sample << 12) | inBag;
    }

    record Problem(long seq, int line, String reason) {
    }

    private final int index;
    private final boolean multiHot;
    private final CriteoLineParser parser;
    final KeyDictionary[] dicts = new KeyDictionary[CriteoSchema.TABLES];
    final Path tempFile;
    private final FileChannel temp;
    private long tempSize;
    final List<Segment> segments = new ArrayList<>();
    final List<Problem> problems = new ArrayList<>();
    long malformed;
    final long[] bagMin = new long[CriteoSchema.TABLES];
    final long[] bagMax = new long[CriteoSchema.TABLES];

    private byte[] labels = new byte[0];
    private float[] dense = new float[0];
    private final int[][] bagSizes = new int[CriteoSchema.TABLES][0];
    private final long[][] keys = new long[CriteoSchema.TABLES][0];
    private final int[][] ids = new int[CriteoSchema.TABLES][0];
    private final int[] idCount = new int[CriteoSchema.TABLES];
    private ByteBuffer staging = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);

    /** Frees the dictionaries and closes the temporary file. */
    void close() throws IOException {
        for (KeyDictionary d : dicts) {
            if (d != null) {
                d.close();
            }
        }
        temp.close();
    }

    ChunkWorker(int index, boolean multiHot, int maxBag, Path tempFile) throws IOException {
        this.index = index;
        this.multiHot = multiHot;
        this.parser = new CriteoLineParser(multiHot, maxBag);
        for (int t = 0; t < dicts.length; t++) {
            dicts[t] = new KeyDictionary(1 << 14); // most tables stay below; big ones grow
        }
        Arrays.fill(bagMin, Long.MAX_VALUE);
        Arrays.fill(bagMax, Long.MIN_VALUE);
        this.tempFile = tempFile;
        this.temp = FileChannel.open(tempFile, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    FileChannel temp() {
        return temp;
    }

    /**
     * Parses one block. Returns false when strict and a line was malformed (the rest of the
     * block is then not parsed).
     */
    boolean process(TextBlock block, boolean strict, int maxRecorded) throws IOException {
        byte[] d = block.data();
        int len = block.length();
        long seq = block.seq();
        int n = 0;
        int line = 0;
        Arrays.fill(idCount, 0);
        boolean ok = true;
        int p = 0;
        while (p < len) {
            int e = block.lineEnd(p);
            line++;
            if (parser.parse(d, p, e)) {
                ensure(n + 1);
                labels[n] = (byte) parser.label();
                int base = n * CriteoSchema.DENSE;
                for (int i = 0; i < CriteoSchema.DENSE; i++) {
                    dense[base + i] = parser.dense(i);
                }
                for (int t = 0; t < CriteoSchema.TABLES; t++) {
                    int bs = parser.bagSize(t);
                    int c = idCount[t];
                    if (keys[t].length < c + bs) {
                        keys[t] = Arrays.copyOf(keys[t], Math.max(c + bs, keys[t].length * 2));
                    }
                    for (int j = 0; j < bs; j++) {
                        keys[t][c + j] = parser.key(t, j);
                    }
                    idCount[t] = c + bs;
                    if (multiHot) {
                        bagSizes[t][n] = bs;
                    }
                }
                n++;
            } else {
                malformed++;
                if (problems.size() < maxRecorded) {
                    problems.add(new Problem(seq, line, parser.problem().describe(parser.problemField())));
                }
                if (strict) {
                    ok = false;
                    break;
                }
            }
            p = e + 1;
        }
        number(seq, n);
        writeSegment(seq, n, line);
        return ok;
    }

    /**
     * Gives the block's keys their local ids, one table at a time: the table's dictionary stays
     * in cache for the whole block instead of 26 dictionaries taking turns for every sample.
     */
    private void number(long seq, int n) {
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            KeyDictionary dict = dicts[t];
            long[] k = keys[t];
            int m = idCount[t];
            if (ids[t].length < m) {
                ids[t] = new int[Math.max(m, ids[t].length * 2)];
            }
            int[] out = ids[t];
            if (!multiHot) {
                for (int i = 0; i < m; i++) {
                    out[i] = dict.addInOrder(k[i], position(seq, i, 0));
                }
                if (n > 0) {
                    bagMin[t] = Math.min(bagMin[t], 1);
                    bagMax[t] = Math.max(bagMax[t], 1);
                }
                continue;
            }
            int[] sizes = bagSizes[t];
            int c = 0;
            for (int i = 0; i < n; i++) {
                int bs = sizes[i];
                for (int j = 0; j < bs; j++, c++) {
                    out[c] = dict.addInOrder(k[c], position(seq, i, j));
                }
                if (bs < bagMin[t]) {
                    bagMin[t] = bs;
                }
                if (bs > bagMax[t]) {
                    bagMax[t] = bs;
                }
            }
        }
    }

    private void ensure(int n) {
        if (labels.length < n) {
            int cap = Math.max(n, labels.length * 2);
            labels = Arrays.copyOf(labels, cap);
            dense = Arrays.copyOf(dense, cap * CriteoSchema.DENSE);
            if (multiHot) {
                for (int t = 0; t < CriteoSchema.TABLES; t++) {
                    bagSizes[t] = Arrays.copyOf(bagSizes[t], cap);
                }
            }
        }
    }

    private void writeSegment(long seq, int n, int lines) throws IOException {
        long bytes = n + 4L * CriteoSchema.DENSE * n;
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            bytes += 4L * idCount[t] + (multiHot ? 4L * n : 0);
        }
        if (staging.capacity() < bytes) {
            staging = ByteBuffer.allocateDirect((int) Math.max(bytes, staging.capacity() * 2L))
                    .order(ByteOrder.LITTLE_ENDIAN);
        }
        ByteBuffer b = staging.clear();
        b.put(labels, 0, n);
        b.asFloatBuffer().put(dense, 0, n * CriteoSchema.DENSE);
        b.position(b.position() + 4 * n * CriteoSchema.DENSE);
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            if (multiHot) {
                b.asIntBuffer().put(bagSizes[t], 0, n);
                b.position(b.position() + 4 * n);
            }
            b.asIntBuffer().put(ids[t], 0, idCount[t]);
            b.position(b.position() + 4 * idCount[t]);
        }
        b.flip();
        long at = tempSize;
        while (b.hasRemaining()) {
            tempSize += temp.write(b, tempSize);
        }
        segments.add(new Segment(seq, index, at, bytes, n, lines, idCount.clone()));
    }
}

package dev.ember.trainer.data.text;

import dev.ember.trainer.data.Batch;
import dev.ember.trainer.data.CriteoSchema;
import dev.ember.trainer.data.vocab.Vocabularies;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Reads Criteo text straight into batches through given vocabularies, one thread, skipping
 * malformed lines. The plain reference for the binary form (and a way to read small files
 * without converting them).
 */
public final class TextBatchReader implements Closeable {
    private final BlockReader reader;
    private final CriteoLineParser parser;
    private final Vocabularies vocab;
    private final TextBlock block = new TextBlock(1 << 20);
    private int pos;
    private boolean more = true;
    private long malformed;
    private final int[][] bag = new int[CriteoSchema.TABLES][];
    private final int[] bagSize = new int[CriteoSchema.TABLES];
    private final float[] dense = new float[CriteoSchema.DENSE];

    public TextBatchReader(Path file, Vocabularies vocab, boolean multiHot, int maxBag) throws IOException {
        this.reader = BlockReader.open(file);
        this.parser = new CriteoLineParser(multiHot, maxBag);
        this.vocab = vocab;
        for (int t = 0; t < bag.length; t++) {
            bag[t] = new int[maxBag];
        }
    }

    /** Fills {@code out} with the next well-formed samples; false when none are left. */
    public boolean next(Batch out) throws IOException {
        out.clear();
        while (out.size() < out.capacity()) {
            if (pos >= block.length()) {
                if (!more || !reader.next(block)) {
                    more = false;
                    break;
                }
                pos = 0;
            }
            int e = block.lineEnd(pos);
            if (parser.parse(block.data(), pos, e)) {
                for (int i = 0; i < CriteoSchema.DENSE; i++) {
                    dense[i] = parser.dense(i);
                }
                for (int t = 0; t < CriteoSchema.TABLES; t++) {
                    int n = parser.bagSize(t);
                    for (int j = 0; j < n; j++) {
                        bag[t][j] = vocab.table(t).id(parser.key(t, j));
                    }
                    bagSize[t] = n;
                }
                out.append(parser.label(), dense, 0, bag, bagSize);
            } else {
                malformed++;
            }
            pos = e + 1;
        }
        return out.size() > 0;
    }

    /** Malformed lines skipped so far. */
    public long malformed() {
        return malformed;
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}

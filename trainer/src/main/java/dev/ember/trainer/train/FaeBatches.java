package dev.ember.trainer.train;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.hotset.SampleClassifier;
import dev.ember.cache.tiered.TieredStore;
import dev.ember.trainer.data.Batch;
import dev.ember.trainer.data.DataPart;

/**
 * FAE's order: the training input is read in windows of {@code windowBatches} batches; before a
 * window, pending re-tiering moves finish, then each sample is classified against the hot set
 * ({@link SampleClassifier}: hot iff all its ids are hot) and the window trains as hot
 * mini-batches and cold mini-batches, interleaved in proportion so that neither kind comes all
 * at once (convergence). No row moves inside a window, so a hot mini-batch never needs the host.
 *
 * <pre>
 *  window: | s0 s1 s2 ... |  -> hot:  | s0 s2 s5 ... |  -> batches H H C H H C ...
 *                              cold: | s1 s3 s4 ... |
 * </pre>
 */
final class FaeBatches implements BatchSource {
    private final DataPart part;
    private final TieredStore store;
    private final int batchSize;
    private final int windowSamples;
    private final Batch window;
    private final PooledBatch[] perTable;
    private long[] hotBits;
    private final int[] hot;
    private final int[] cold;
    private int hotCount;
    private int coldCount;
    private int hotAt;
    private int coldAt;
    private int hotBatchesDone;
    private int coldBatchesDone;
    private int hotBatches;
    private int coldBatches;
    private long windowStart;
    private long position;
    private final boolean oneEpoch;
    private boolean lastHot;

    FaeBatches(DataPart part, TieredStore store, int tables, int batchSize, int windowBatches, boolean oneEpoch) {
        this.part = part;
        this.store = store;
        this.batchSize = batchSize;
        this.windowSamples = (int) Math.min((long) batchSize * windowBatches, part.samples());
        this.window = new Batch(windowSamples);
        this.perTable = new PooledBatch[tables];
        for (int t = 0; t < tables; t++) {
            perTable[t] = new PooledBatch(windowSamples, windowSamples);
        }
        this.hotBits = new long[SampleClassifier.words(windowSamples)];
        this.hot = new int[windowSamples];
        this.cold = new int[windowSamples];
        this.oneEpoch = oneEpoch;
    }

    @Override
    public boolean next(Batch out) {
        if (hotBatchesDone == hotBatches && coldBatchesDone == coldBatches) {
            if (oneEpoch && position >= part.samples()) {
                return false;
            }
            loadWindow();
        }
        // Interleave in proportion: hot next while its share done is not ahead of cold's.
        boolean takeHot = coldBatchesDone == coldBatches
                || (hotBatchesDone < hotBatches && (long) hotBatchesDone * coldBatches <= (long) coldBatchesDone * hotBatches);
        out.clear();
        if (takeHot) {
            int n = Math.min(batchSize, hotCount - hotAt);
            for (int i = 0; i < n; i++) {
                part.dataset().append(windowStart + hot[hotAt + i], out);
            }
            hotAt += n;
            hotBatchesDone++;
        } else {
            int n = Math.min(batchSize, coldCount - coldAt);
            for (int i = 0; i < n; i++) {
                part.dataset().append(windowStart + cold[coldAt + i], out);
            }
            coldAt += n;
            coldBatchesDone++;
        }
        lastHot = takeHot;
        return true;
    }

    private void loadWindow() {
        if (position >= part.samples()) {
            position = 0;
        }
        store.settle();
        HotSet generation = store.hotSet();
        int count = (int) Math.min(windowSamples, part.samples() - position);
        windowStart = part.start() + position;
        part.dataset().read(windowStart, count, window);
        for (int t = 0; t < perTable.length; t++) {
            ColdEmbeddings.fill(perTable[t], window, t);
        }
        SampleClassifier.classify(generation, perTable, hotBits);
        hotCount = 0;
        coldCount = 0;
        for (int s = 0; s < count; s++) {
            if ((hotBits[s >>> 6] & (1L << s)) != 0) {
                hot[hotCount++] = s;
            } else {
                cold[coldCount++] = s;
            }
        }
        hotAt = 0;
        coldAt = 0;
        hotBatchesDone = 0;
        coldBatchesDone = 0;
        hotBatches = (hotCount + batchSize - 1) / batchSize;
        coldBatches = (coldCount + batchSize - 1) / batchSize;
        position += count;
    }

    @Override
    public boolean lastWasHot() {
        return lastHot;
    }
}

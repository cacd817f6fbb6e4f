package dev.ember.trainer.train;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.durability.Blobs;
import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.hotset.SampleClassifier;
import dev.ember.cache.tiered.TieredStore;
import dev.ember.trainer.data.Batch;
import dev.ember.trainer.data.DataPart;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.stream.IntStream;

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
 *
 * <p><b>Look-ahead.</b> The trainer may hold several batches handed out and not yet trained
 * (announced ahead to the embedding path), all of one window: {@link #nextStartsWindow()} says when
 * the next batch would begin a new window, which the trainer fetches only once every batch out
 * is trained ({@link #loadWindow} settles moves, which needs no batch in flight). The trainer
 * reports each trained batch ({@link #trained()}); a batch still out when training stops (a
 * device failure) counts as not trained.
 *
 * <pre>
 *  window:  | b0 b1 b2 b3 b4 ... b31 |
 *             trained  | out (ahead) | not handed out
 *             b0 b1    | b2 b3 b4    | b5 ...          toBytes: window start, 2 batches done
 * </pre>
 *
 * <p><b>Resume.</b> {@link #toBytes()} (the manifest blob {@value #BLOB}) records where the
 * current window starts in the data and how many of its batches were trained; {@link #resume}
 * reads the window again, classifies it against the restored hot set (no row moves inside a
 * window, so it is the set the window started with) and skips the batches already trained, so a
 * resumed run trains the same batches in the same order as an uninterrupted one.
 *
 * <pre>
 *  blob: int magic | int batchSize | int windowSamples | long windowStart (from the part's start) | int batchesDone
 *        | int pass (0-based; absent in blobs written before multi-epoch runs, read as 0)
 * </pre>
 */
final class FaeBatches implements BatchSource {
    /** The manifest blob of the window position. */
    static final String BLOB = "fae.window";
    private static final int MAGIC = 0x46414557; // "FAEW"
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
    /** Passes over the part before {@link #next} says no more (0: never). */
    private final int passes;
    private int pass;
    private boolean lastHot;
    /** Batches handed out and not yet reported {@link #trained()}; all of the current window. */
    private int outstanding;
    /** Time spent between windows, read at the end of a run: finishing moves, reading and classifying, assembling batches. */
    private long settleNanos;
    private long classifyNanos;
    private long assembleNanos;
    private int windows;

    FaeBatches(DataPart part, TieredStore store, int tables, int batchSize, int windowBatches, int passes) {
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
        this.passes = passes;
    }

    @Override
    public boolean next(Batch batch) {
        if (windowDone()) {
            if (outstanding > 0) {
                throw new IllegalStateException("the next batch starts a new window, whose moves need every batch handed out"
                        + " trained; " + outstanding + " are not (check nextStartsWindow() before next())");
            }
            if (position >= part.samples()) {
                if (passes > 0 && pass + 1 >= passes) {
                    return false;
                }
                pass++;
                position = 0;
            }
            loadWindow(true);
        }
        long t0 = System.nanoTime();
        boolean takeHot = hotNext();
        batch.clear();
        int[] samples = takeHot ? hot : cold;
        int at = takeHot ? hotAt : coldAt;
        int n = Math.min(batchSize, (takeHot ? hotCount : coldCount) - at);
        batch.appendFrom(window, samples, at, n);
        advance(takeHot, n);
        lastHot = takeHot;
        outstanding++;
        assembleNanos += System.nanoTime() - t0;
        return true;
    }

    @Override
    public boolean nextStartsWindow() {
        return windowDone();
    }

    /** The oldest batch handed out and not yet reported is trained (its rows and the MLPs updated). */
    void trained() {
        if (outstanding == 0) {
            throw new IllegalStateException("a batch reported trained, but every batch handed out already was");
        }
        outstanding--;
    }

    /**
     * The position to resume from, counting only the batches reported {@link #trained()}: the
     * current window's start and its batches trained, or, when the window is wholly trained, the
     * next window's start and 0.
     */
    byte[] toBytes() {
        boolean inWindow = !windowDone() || outstanding > 0;
        return Blobs.of(out -> {
            out.writeInt(MAGIC);
            out.writeInt(batchSize);
            out.writeInt(windowSamples);
            out.writeLong(inWindow ? windowStart - part.start() : position);
            out.writeInt(inWindow ? hotBatchesDone + coldBatchesDone - outstanding : 0);
            out.writeInt(pass);
        });
    }

    /** Continues from a {@link #toBytes()} blob: re-reads and re-classifies a window begun, skips its trained batches. */
    void resume(byte[] blob) {
        long start;
        int done;
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(blob));
            if (in.readInt() != MAGIC) {
                throw new IllegalArgumentException("manifest blob " + BLOB + " is not a fae window position (bad magic)");
            }
            int savedBatch = in.readInt();
            int savedWindow = in.readInt();
            if (savedBatch != batchSize || savedWindow != windowSamples) {
                throw new IllegalArgumentException("the checkpoint's fae windows are " + savedWindow + " samples in batches of "
                        + savedBatch + ", this run's " + windowSamples + " in batches of " + batchSize
                        + "; resume with --batch " + savedBatch);
            }
            start = in.readLong();
            done = in.readInt();
            pass = in.available() >= Integer.BYTES ? in.readInt() : 0;
        } catch (IOException e) {
            throw new IllegalArgumentException("truncated manifest blob " + BLOB, e);
        }
        if (start < 0 || start > part.samples() || done < 0 || pass < 0) {
            throw new IllegalArgumentException("manifest blob " + BLOB + " points at sample " + start + " (batch " + done
                    + ") outside the training part's " + part.samples() + " samples");
        }
        position = start;
        outstanding = 0;
        if (done == 0) {
            return;
        }
        // The restored hot set is the window's: its rows were not moved before the window was trained.
        loadWindow(false);
        if (done > hotBatches + coldBatches) {
            throw new IllegalArgumentException("manifest blob " + BLOB + " says " + done + " batches of a window of "
                    + (hotBatches + coldBatches) + " were trained");
        }
        for (int i = 0; i < done; i++) {
            boolean takeHot = hotNext();
            advance(takeHot, Math.min(batchSize, takeHot ? hotCount - hotAt : coldCount - coldAt));
        }
    }

    private boolean windowDone() {
        return hotBatchesDone == hotBatches && coldBatchesDone == coldBatches;
    }

    /** Interleave in proportion: hot next while its share done is not ahead of cold's. */
    private boolean hotNext() {
        return coldBatchesDone == coldBatches
                || (hotBatchesDone < hotBatches && (long) hotBatchesDone * coldBatches <= (long) coldBatchesDone * hotBatches);
    }

    private void advance(boolean hotBatch, int samples) {
        if (hotBatch) {
            hotAt += samples;
            hotBatchesDone++;
        } else {
            coldAt += samples;
            coldBatchesDone++;
        }
    }

    /** Reads and classifies the next window; {@code settle} first finishes pending moves (false when resuming inside one). */
    private void loadWindow(boolean settle) {
        if (position >= part.samples()) {
            position = 0;
        }
        long t0 = System.nanoTime();
        if (settle) {
            store.settle();
        }
        long t1 = System.nanoTime();
        HotSet generation = store.hotSet();
        int count = (int) Math.min(windowSamples, part.samples() - position);
        windowStart = part.start() + position;
        part.dataset().read(windowStart, count, window);
        // tables at once on the common pool, as the classification below (a window: tens of
        // thousands of samples per table)
        IntStream.range(0, perTable.length).parallel().forEach(t -> ColdEmbeddings.fill(perTable[t], window, t));
        SampleClassifier.classifyInParallel(generation, perTable, hotBits);
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
        settleNanos += t1 - t0;
        classifyNanos += System.nanoTime() - t1;
        windows++;
    }

    /** Where the time between windows went, in one line. */
    String windowTimes() {
        return String.format("%d windows: finishing moves %.1f ms, reading and classifying %.1f ms, assembling batches %.1f ms",
                windows, settleNanos / 1e6, classifyNanos / 1e6, assembleNanos / 1e6);
    }

    @Override
    public boolean lastWasHot() {
        return lastHot;
    }
}

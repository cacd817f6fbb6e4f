package dev.ember.trainer.train;

import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.model.ModelConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * fae with batches announced ahead inside its windows trains exactly what it trains without:
 * the same MLP weights, every row, the same AUC bits and window position, with hot
 * mini-batches still making no host gathers. The knob runs every 20 steps here so that rows
 * move between windows (the boundary look-ahead must never cross). A run stopped right after a
 * checkpoint taken with batches ahead records only the batches trained, and resumes to the
 * uninterrupted run's model.
 */
class FaeLookaheadTest {
    static final int BATCH = 256;
    static final int STEPS = 100;
    static final int KNOB_PERIOD = 20;
    static final int KNOB_LAG = 10;
    static final ModelConfig MODEL = ModelConfig.of(26, new int[] {13, 16, 16}, new int[] {367, 16, 1});

    @TempDir
    static Path shared;
    static BinaryDataset data;

    @TempDir
    Path dir;

    @BeforeAll
    static void generate() throws IOException {
        data = GeneratedData.open(shared, 24_000, 17);
    }

    private static TrainSettings settings(Path store, long steps, long every, boolean resume) {
        return new TrainSettings(Mode.FAE, store, BATCH, steps, 0.5f, 21, 2, 2000, every, resume, false, "host",
                TrainSettings.DEFAULT_BUDGET);
    }

    private static ModeResult train(int depth, Path store, long steps, long every, boolean resume,
                                    java.util.function.LongConsumer onStep) {
        return new Trainer(settings(store, steps, every, resume), MODEL).faeLookahead(depth).knob(KNOB_PERIOD, KNOB_LAG)
                .evalEvery(STEPS).run(data, onStep);
    }

    /** Batches of the current fae window trained at the store's last checkpoint (0 at a window boundary). */
    private static int faeBatchesDone(Path store) {
        return ByteBuffer.wrap(Store.readManifest(store).blobs().get(FaeBatches.BLOB)).getInt(20);
    }

    private static void assertSameModel(Path want, Path got, String what) {
        assertArrayEquals(StoredModel.model(want), StoredModel.model(got), what + ": MLP weights");
        byte[][] a = StoredModel.rows(want);
        byte[][] b = StoredModel.rows(got);
        for (int t = 0; t < a.length; t++) {
            assertArrayEquals(a[t], b[t], what + ": rows of table " + t);
        }
        assertArrayEquals(Store.readManifest(want).blobs().get(FaeBatches.BLOB), Store.readManifest(got).blobs().get(FaeBatches.BLOB),
                what + ": fae window position");
        try (Store s = Store.open(want, StoreConfig.builder().jmx(false).build());
             Store t = Store.open(got, StoreConfig.builder().jmx(false).build())) {
            assertEquals(ModelDigest.of(s), ModelDigest.of(t), what + ": model digest");
        }
    }

    @Test
    void lookaheadTrainsTheSameModelAsNoneAndResumesExactlyFromACheckpointWithBatchesAhead() {
        Path none = dir.resolve("depth0");
        ModeResult r0 = train(0, none, STEPS, 0, false, s -> { });
        Path ahead = dir.resolve("depth2");
        ModeResult r2 = train(Trainer.CACHE_LOOKAHEAD, ahead, STEPS, 0, false, s -> { });
        assertSameModel(none, ahead, "look-ahead " + Trainer.CACHE_LOOKAHEAD + " against none");
        assertEquals(Double.doubleToRawLongBits(r0.auc()), Double.doubleToRawLongBits(r2.auc()), "AUC bits");
        assertEquals(Double.doubleToRawLongBits(r0.logLoss()), Double.doubleToRawLongBits(r2.logLoss()), "log loss bits");
        assertEquals(r0.hotBatches(), r2.hotBatches(), "hot mini-batches");
        assertEquals(r0.coldBatches(), r2.coldBatches(), "cold mini-batches");
        assertEquals(r0.hostGathers(), r2.hostGathers(), "host gathers");
        for (ModeResult r : new ModeResult[] {r0, r2}) {
            assertEquals(STEPS, r.steps());
            assertTrue(r.hotBatches() > 0 && r.coldBatches() > 0, "both kinds of mini-batch: " + r.hotBatches() + " hot, "
                    + r.coldBatches() + " cold");
            assertEquals(0, r.hotBatchHostGathers(), "hot mini-batches make no host gathers");
            // the profile's hot set only promotes: a demotion is the knob's move between windows
            assertTrue(r.rowsDemoted() > 0, "rows moved between windows: " + r.rowsPromoted() + " promoted, "
                    + r.rowsDemoted() + " demoted");
        }

        // Stopped right after a periodic checkpoint inside a window, with batches announced ahead,
        // and at a window's end; each resumed to the end with look-ahead.
        int mid = 40;
        Path reference = dir.resolve("depth0-at-" + mid);
        train(0, reference, mid, 0, false, s -> { });
        int done = faeBatchesDone(reference);
        assertTrue(done > 0, "step " + mid + " is inside a window: " + done + " of its batches trained");
        for (int at : new int[] {mid, mid - done}) {
            Path stopped = dir.resolve("stopped-at-" + at);
            RuntimeException stop = assertThrows(RuntimeException.class, () -> train(Trainer.CACHE_LOOKAHEAD, stopped, STEPS,
                    at, false, s -> {
                        if (s == at) {
                            throw new IllegalStateException("stopped at step " + at);
                        }
                    }));
            assertEquals("stopped at step " + at, stop.getMessage());
            assertEquals(at, Store.readManifest(stopped).step());
            assertEquals(at == mid ? done : 0, faeBatchesDone(stopped), "batches of the window trained at step " + at);
            if (at == mid) {
                assertArrayEquals(Store.readManifest(reference).blobs().get(FaeBatches.BLOB),
                        Store.readManifest(stopped).blobs().get(FaeBatches.BLOB), "fae window position at step " + at);
                assertArrayEquals(StoredModel.model(reference), StoredModel.model(stopped), "MLP weights at step " + at);
            }
            ModeResult resumed = train(Trainer.CACHE_LOOKAHEAD, stopped, STEPS, at, true, s -> { });
            assertEquals(STEPS, resumed.steps());
            assertEquals((long) (STEPS - at), resumed.hotBatches() + resumed.coldBatches(), "steps trained after the resume");
            assertSameModel(none, stopped, "resumed at step " + at);
        }
    }

    @Test
    void aLookaheadOutsideItsRangeIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Trainer(settings(dir.resolve("x"), 1, 0, false), MODEL).faeLookahead(9));
        assertTrue(e.getMessage().contains("-Dember.fae.lookahead") && e.getMessage().contains("9"), e.getMessage());
    }
}

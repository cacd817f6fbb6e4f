package dev.ember.trainer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ember.cache.store.Store;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceSelector;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.model.ModelConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The training modes on small generated data and a small DLRM: {@code baseline}, {@code cache}
 * and {@code device} give bit-identical models (MLP weights and every embedding row) on the host
 * device and on OpenCL; {@code fae} agrees statistically (AUC over 3 seeds) and its hot
 * mini-batches make no host gathers; AUC is clearly above chance; the JSON lines parse. Resumed
 * runs (fae too, inside a window and at its boundary) equal uninterrupted ones bit for bit.
 */
class TrainerModesTest {
    static final int BATCH = 256;
    static final ModelConfig MODEL = ModelConfig.of(26, new int[] {13, 32, 16}, new int[] {367, 32, 1});

    @TempDir
    static Path shared;
    static BinaryDataset data;

    @TempDir
    Path dir;

    @BeforeAll
    static void generate() throws IOException {
        data = GeneratedData.open(shared, 30_000, 5);
    }

    private ModeResult train(Mode mode, String device, long seed, Path store, long steps) {
        return train(mode, device, seed, store, steps, 0.1f);
    }

    private ModeResult train(Mode mode, String device, long seed, Path store, long steps, float lr) {
        TrainSettings s = new TrainSettings(mode, store, BATCH, steps, lr, seed, 2, 4000, 40, false, false, device,
                TrainSettings.DEFAULT_BUDGET);
        return new Trainer(s, MODEL).run(data, step -> { });
    }

    private static byte[][] rows(Path storeDir) {
        return StoredModel.rows(storeDir);
    }

    private static byte[] model(Path storeDir) {
        return StoredModel.model(storeDir);
    }

    private void assertBitIdentical(String device) {
        List<Path> stores = new ArrayList<>();
        List<ModeResult> results = new ArrayList<>();
        for (Mode m : new Mode[] {Mode.BASELINE, Mode.CACHE, Mode.DEVICE}) {
            Path store = dir.resolve(m.label());
            results.add(train(m, device, 3, store, 50));
            stores.add(store);
        }
        byte[] model0 = model(stores.get(0));
        byte[][] rows0 = rows(stores.get(0));
        for (int i = 1; i < stores.size(); i++) {
            String m = results.get(i).mode();
            assertArrayEquals(model0, model(stores.get(i)), m + ": MLP weights differ from baseline's");
            byte[][] rows = rows(stores.get(i));
            for (int t = 0; t < rows0.length; t++) {
                assertArrayEquals(rows0[t], rows[t], m + ": rows of table " + t + " differ from baseline's");
            }
            assertEquals(results.get(0).auc(), results.get(i).auc(), m + ": AUC");
        }
        ModeResult cache = results.get(1);
        assertTrue(cache.hitRate() > 0.2 && cache.hitRate() < 1, "cache mode served ids from both tiers: " + cache.hitRate());
        assertEquals(0, results.get(2).hostGathers(), "device mode never gathers on the host");
    }

    @Test
    void baselineCacheAndDeviceAreBitIdenticalOnTheHostDevice() {
        assertBitIdentical("host");
    }

    @Test
    void baselineCacheAndDeviceAreBitIdenticalOnOpenCl() {
        String why = null;
        try (Device d = DeviceSelector.open("opencl")) {
            why = null;
        } catch (RuntimeException | LinkageError e) {
            why = e.getMessage();
        }
        String reason = why;
        assumeTrue(reason == null, () -> "OpenCL mode test skipped: " + reason + " (install pocl-opencl-icd)");
        assertBitIdentical("opencl");
    }

    @Test
    void baselineCacheAndDeviceResumedRunsEqualAnUninterruptedBaseline() {
        Path base = dir.resolve("uninterrupted");
        train(Mode.BASELINE, "host", 4, base, 30);
        byte[][] want = rows(base);
        for (Mode m : new Mode[] {Mode.BASELINE, Mode.CACHE, Mode.DEVICE}) {
            Path store = dir.resolve(m.label());
            train(m, "host", 4, store, 20);
            TrainSettings resume = new TrainSettings(m, store, BATCH, 30, 0.1f, 4, 2, 4000, 40, true, false, "host",
                    TrainSettings.DEFAULT_BUDGET);
            ModeResult r = new Trainer(resume, MODEL).run(data, step -> { });
            assertEquals(30, r.steps(), m + ": resumed to step 30");
            assertArrayEquals(model(base), model(store), m + ": MLP weights after resuming");
            byte[][] got = rows(store);
            for (int t = 0; t < want.length; t++) {
                assertArrayEquals(want[t], got[t], m + ": rows of table " + t + " after resuming");
            }
        }
    }

    @Test
    void faeResumedMidWindowAndAtAWindowBoundaryEqualsAnUninterruptedFaeRun() {
        long total = 80; // past the knob's evaluation at step 50: moves it asks for wait for the next window start
        Path base = dir.resolve("fae-uninterrupted");
        train(Mode.FAE, "host", 4, base, total);
        byte[][] want = rows(base);
        // Step 40 lies inside the second window (a window trains 32 or 33 mini-batches: a partial hot and cold one).
        Path mid = dir.resolve("fae-mid");
        train(Mode.FAE, "host", 4, mid, 40);
        int done = faeBatchesDone(mid);
        assertTrue(done > 0, "step 40 is inside a window: " + done + " of its batches trained");
        Path boundary = dir.resolve("fae-boundary");
        train(Mode.FAE, "host", 4, boundary, 40 - done);
        assertEquals(0, faeBatchesDone(boundary), "step " + (40 - done) + " ends a window");
        for (Path store : new Path[] {mid, boundary}) {
            TrainSettings resume = new TrainSettings(Mode.FAE, store, BATCH, total, 0.1f, 4, 2, 4000, 40, true, false, "host",
                    TrainSettings.DEFAULT_BUDGET);
            ModeResult r = new Trainer(resume, MODEL).run(data, step -> { });
            assertEquals(total, r.steps(), store + ": resumed to step " + total);
            assertArrayEquals(model(base), model(store), store + ": MLP weights after resuming");
            byte[][] got = rows(store);
            for (int t = 0; t < want.length; t++) {
                assertArrayEquals(want[t], got[t], store + ": rows of table " + t + " after resuming");
            }
            assertArrayEquals(Store.readManifest(base).blobs().get(FaeBatches.BLOB),
                    Store.readManifest(store).blobs().get(FaeBatches.BLOB), store + ": fae window position at the end");
        }
    }

    /** Batches of the current fae window trained at the store's last checkpoint (0 at a window boundary). */
    private static int faeBatchesDone(Path storeDir) {
        byte[] blob = Store.readManifest(storeDir).blobs().get(FaeBatches.BLOB);
        return ByteBuffer.wrap(blob).getInt(20); // after magic, batch size, window size and the window's start
    }

    @Test
    void faeAgreesWithTheOthersOverThreeSeedsWithZeroHostGathersInHotBatches() throws Exception {
        double[] fae = new double[3];
        double[] cache = new double[3];
        ObjectMapper json = new ObjectMapper();
        for (int seed = 0; seed < 3; seed++) {
            // About three epochs at a high rate: enough for the small model to learn the planted signal.
            ModeResult f = train(Mode.FAE, "host", 11 + seed, dir.resolve("fae" + seed), 240, 1.0f);
            ModeResult c = train(Mode.CACHE, "host", 11 + seed, dir.resolve("cache" + seed), 240, 1.0f);
            assertTrue(f.hotBatches() > 0, "fae trained hot mini-batches");
            assertTrue(f.coldBatches() > 0, "fae trained cold mini-batches");
            assertEquals(0, f.hotBatchHostGathers(), "fae's hot mini-batches made no host gathers");
            assertTrue(f.hotSampleFraction() > 0.05, "some samples are all-hot: " + f.hotSampleFraction());
            fae[seed] = f.auc();
            cache[seed] = c.auc();
            for (ModeResult r : new ModeResult[] {f, c}) {
                JsonNode line = json.readTree(json.writeValueAsString(r));
                assertEquals(r.mode(), line.get("mode").asText());
                assertEquals(r.auc(), line.get("auc").asDouble());
                assertEquals(r.hotBatchHostGathers(), line.get("hotBatchHostGathers").asLong());
            }
        }
        double mf = mean(fae);
        double mc = mean(cache);
        double sd = Math.sqrt((variance(fae) + variance(cache)) / 2);
        System.out.printf("AUC over 3 seeds: cache/baseline/device %s (mean %.4f), fae %s (mean %.4f), pooled sd %.4f%n",
                java.util.Arrays.toString(cache), mc, java.util.Arrays.toString(fae), mf, sd);
        assertTrue(mc > 0.58 && mf > 0.58, "AUC clearly above chance: cache " + mc + ", fae " + mf);
        assertTrue(Math.abs(mf - mc) <= 2 * Math.max(sd, 0.002),
                "fae AUC " + mf + " within 2 sd (" + sd + ") of cache/baseline/device AUC " + mc);
    }

    private static double mean(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v;
        }
        return s / a.length;
    }

    private static double variance(double[] a) {
        double m = mean(a);
        double s = 0;
        for (double v : a) {
            s += (v - m) * (v - m);
        }
        return s / (a.length - 1);
    }
}

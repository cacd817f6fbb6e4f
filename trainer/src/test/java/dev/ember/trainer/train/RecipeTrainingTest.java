package dev.ember.trainer.train;

import dev.ember.cache.store.Store;
import dev.ember.cache.table.Optimizer;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceSelector;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.model.DenseOptimizer;
import dev.ember.trainer.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Training recipes beyond one epoch of SGD: with row-wise Adagrad tables, Adagrad MLPs, a warm-up
 * and two epochs, {@code baseline}, {@code cache} and {@code device} still give bit-identical
 * models (host device and OpenCL); a run resumed inside the warm-up equals an uninterrupted one;
 * {@code fae} trains every sample once a pass; a store keeps its tables' and MLPs' optimizers.
 */
class RecipeTrainingTest {
    static final int BATCH = 512;
    static final ModelConfig MODEL = ModelConfig.of(26, new int[] {13, 16, 8}, new int[] {359, 16, 1});
    static final Recipe RECIPE = new Recipe(2, Optimizer.ROWWISE_ADAGRAD, 0.1f, DenseOptimizer.ADAGRAD, 0.05f, 30);

    @TempDir
    static Path shared;
    static BinaryDataset data;

    @TempDir
    Path dir;

    @BeforeAll
    static void generate() throws IOException {
        data = GeneratedData.open(shared, 14_000, 7);
    }

    private static TrainSettings settings(Mode mode, String device, Path store, long steps, boolean resume, Recipe recipe) {
        return new TrainSettings(mode, store, BATCH, steps, 0.1f, 3, 2, 3000, 0, resume, false, device,
                TrainSettings.DEFAULT_BUDGET, recipe);
    }

    private static ModeResult train(TrainSettings s) {
        return new Trainer(s, MODEL).run(data, step -> { });
    }

    private static byte[][] rows(Path storeDir) {
        for (var table : Store.readManifest(storeDir).tables()) {
            assertEquals(Optimizer.ROWWISE_ADAGRAD, table.spec().optimizer(), "table " + table.spec().name() + "'s optimizer");
        }
        return StoredModel.rows(storeDir);
    }

    private static byte[] model(Path storeDir) {
        return StoredModel.model(storeDir);
    }

    private static void assertSameModel(Path want, Path got, String what) {
        assertArrayEquals(model(want), model(got), what + ": MLP weights and their Adagrad state");
        byte[][] a = rows(want);
        byte[][] b = rows(got);
        for (int t = 0; t < a.length; t++) {
            assertArrayEquals(a[t], b[t], what + ": rows (weights and accumulator) of table " + t);
        }
    }

    private void assertBitIdentical(String device) {
        long epoch = data.train().batches(BATCH);
        Path base = dir.resolve("baseline");
        ModeResult b = train(settings(Mode.BASELINE, device, base, 0, false, RECIPE));
        assertEquals(2 * epoch, b.steps(), "two epochs");
        assertTrue(b.auc() > 0.58, "AUC clearly above chance: " + b.auc());
        for (Mode m : new Mode[] {Mode.CACHE, Mode.DEVICE}) {
            Path store = dir.resolve(m.label());
            ModeResult r = train(settings(m, device, store, 0, false, RECIPE));
            assertSameModel(base, store, m.label() + " on " + device);
            assertEquals(b.auc(), r.auc(), m.label() + ": AUC");
        }
    }

    @Test
    void baselineCacheAndDeviceAreBitIdenticalWithAdagradWarmupAndTwoEpochsOnTheHostDevice() {
        assertBitIdentical("host");
    }

    @Test
    void baselineCacheAndDeviceAreBitIdenticalWithAdagradWarmupAndTwoEpochsOnOpenCl() {
        String why;
        try (Device d = DeviceSelector.open("opencl")) {
            why = null;
        } catch (RuntimeException | LinkageError e) {
            why = e.getMessage();
        }
        String reason = why;
        assumeTrue(reason == null, () -> "OpenCL recipe test skipped: " + reason + " (install pocl-opencl-icd)");
        assertBitIdentical("opencl");
    }

    @Test
    void aRunResumedInsideTheWarmupEqualsAnUninterruptedOne() {
        Path whole = dir.resolve("whole");
        train(settings(Mode.CACHE, "host", whole, 0, false, RECIPE));
        Path split = dir.resolve("split");
        train(settings(Mode.CACHE, "host", split, 12, false, RECIPE)); // stops at step 12 of a 30-step warm-up
        ModeResult r = train(settings(Mode.CACHE, "host", split, 0, true, RECIPE));
        assertEquals(2 * data.train().batches(BATCH), r.steps(), "resumed to the end of the second epoch");
        assertSameModel(whole, split, "resumed");
    }

    @Test
    void faeTrainsEverySampleOnceAPass() {
        ModeResult two = train(settings(Mode.FAE, "host", dir.resolve("fae2"), 0, false, RECIPE));
        assertEquals(2 * data.train().samples(), two.samples(), "two passes, each sample once a pass");
        assertTrue(two.hotBatches() > 0 && two.coldBatches() > 0, "hot and cold mini-batches");
    }

    @Test
    void resumingWithAnotherTableOrMlpOptimizerNamesTheOption() {
        Path store = dir.resolve("kept");
        train(settings(Mode.BASELINE, "host", store, 5, false, RECIPE));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> train(settings(Mode.BASELINE, "host", store, 10, true, Recipe.sgd(0.1f))));
        assertTrue(e.getMessage().contains("--embedding-optimizer rowwise-adagrad"), e.getMessage());
        Recipe otherMlps = new Recipe(1, Optimizer.ROWWISE_ADAGRAD, 0.1f, DenseOptimizer.SGD, 0.1f, 0);
        e = assertThrows(IllegalArgumentException.class,
                () -> train(settings(Mode.BASELINE, "host", store, 10, true, otherMlps)));
        assertTrue(e.getMessage().contains("--dense-optimizer adagrad"), e.getMessage());
    }
}

package dev.ember.gpu.tiered;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.knob.Budget;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.tiered.StepBatch;
import dev.ember.cache.tiered.TieredConfig;
import dev.ember.cache.tiered.TieredStore;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceSelector;
import dev.ember.gpu.pool.SlotPool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The README's example, compiled and run so that it cannot rot: keep the two in step. */
class ReadmeExampleTest {
    @TempDir
    Path dir;

    @Test
    void readmeExampleRuns() {
        long hotRows;
        // --- README example starts here ---
        List<TableSpec> tables = List.of(
                new TableSpec("users", 20_000, 16, Optimizer.ROWWISE_ADAGRAD),
                new TableSpec("items", 5_000, 16, Optimizer.ROWWISE_ADAGRAD));
        int batchSize = 512;
        TieredConfig config = TieredConfig.defaults(Budget.ofFraction(0.05), batchSize) // 5% of all rows hot
                .withKnob(10, 1); // re-choose the hot rows every 10 steps
        try (Store store = Store.create(dir.resolve("store"), StoreConfig.builder().tables(tables).seed(1).build());
             Device device = DeviceSelector.open("auto"); // CUDA, else OpenCL, else host memory
             SlotPool hot = new SlotPool(device, tables.get(0).layout(), 1 << 20);
             TieredStore embeddings = TieredStore.open(store, hot, config);
             StepBatch batch = embeddings.newBatch()) {
            float[][] pooled = new float[2][batchSize * 16];
            float[][] grads = new float[2][batchSize * 16];
            SplittableRandom random = new SplittableRandom(7);
            for (long step = 0; step < 30; step++) {
                for (int t = 0; t < 2; t++) {
                    PooledBatch ids = batch.ids(t); // one bag of ids per sample, per table
                    for (int s = 0; s < batchSize; s++) {
                        long id = (long) (tables.get(t).rows() * Math.pow(random.nextDouble(), 4)); // skewed
                        ids.add(id).endBag();
                    }
                }
                embeddings.submit(batch);         // pins the rows, splits them into hot and cold
                embeddings.gather(batch, pooled); // pooled[t]: batchSize bags x 16 floats
                for (float[] g : grads) {         // your model's d(loss)/d(pooled) goes here
                    for (int i = 0; i < g.length; i++) {
                        g[i] = (float) (random.nextDouble() - 0.5);
                    }
                }
                embeddings.apply(batch, grads, 0.05f, 1e-8f);
                embeddings.endStep(step + 1);     // the knob may move rows between tiers here
            }
            embeddings.checkpoint(30, new long[0], Map.of()); // exact: reopening resumes here
            // --- README example ends here ---
            hotRows = embeddings.hotSet().totalHotRows();
        }
        assertTrue(hotRows > 0, "the knob made rows hot");
        try (Store store = Store.open(dir.resolve("store"), StoreConfig.builder().jmx(false).build())) {
            assertEquals(30, store.lastCheckpoint().step());
            assertTrue(store.lastCheckpoint().blobs().containsKey(TieredStore.HOT_SETS_BLOB));
        }
    }

    /** The README shows exactly the lines run above, so the two cannot drift apart. */
    @Test
    void readmeShowsTheExampleThatRuns() throws IOException {
        String root = System.getProperty("ember.root");
        Path source = root == null ? null
                : Path.of(root, "gpu-tier/src/test/java/dev/ember/gpu/tiered/ReadmeExampleTest.java");
        assumeTrue(source != null && Files.isRegularFile(source),
                "the README check needs the source tree (ember.root); this run has only compiled tests");
        List<String> lines = Files.readAllLines(source);
        int from = lines.indexOf("        // --- README example starts here ---") + 1;
        int to = lines.indexOf("            // --- README example ends here ---");
        assertTrue(from > 0 && to > from, "markers of the README example in " + source);
        StringBuilder example = new StringBuilder();
        for (String line : lines.subList(from, to)) {
            example.append(line.length() >= 8 ? line.substring(8) : line.strip()).append('\n');
        }
        String readme = Files.readString(Path.of(root, "README.md"));
        assertTrue(readme.contains(example), "README.md must show this example verbatim:\n" + example);
    }
}

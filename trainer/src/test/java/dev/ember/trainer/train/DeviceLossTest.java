package dev.ember.trainer.train;

import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.testing.StoreDigest;
import dev.ember.gpu.device.DeviceException;
import dev.ember.gpu.device.FaultyDevice;
import dev.ember.gpu.device.HostDevice;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.data.convert.ConvertResult;
import dev.ember.trainer.data.convert.ConvertSettings;
import dev.ember.trainer.data.convert.Converter;
import dev.ember.trainer.data.gen.GenSettings;
import dev.ember.trainer.data.gen.Generator;
import dev.ember.trainer.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hot-tier device lost mid-run (injected at the {@link dev.ember.gpu.device.Device} boundary by
 * {@link FaultyDevice}, halfway through the run's device operations): without the fallback the run
 * stops with the device's error and the store reopens at its last checkpoint, equal to a baseline
 * run stopped there; with it, training goes back to that checkpoint, continues on the host device
 * and ends bit-identical to an uninterrupted baseline run.
 */
class DeviceLossTest {
    static final int BATCH = 128;
    static final int STEPS = 40;
    static final int EVERY = 5;
    static final ModelConfig MODEL = ModelConfig.dlrm(26, "13-16-16", "16-1");

    @TempDir
    static Path shared;
    static BinaryDataset data;

    @TempDir
    Path dir;

    @BeforeAll
    static void generate() throws IOException {
        Path tsv = shared.resolve("g.tsv");
        Generator.run(GenSettings.defaults(tsv, 20_000, 6).withScale(0.001).withThreads(2));
        ConvertResult r = new Converter(ConvertSettings.defaults(tsv).withThreads(2)).run();
        data = BinaryDataset.open(r.outDir().resolve(BinaryDataset.DATA_FILE));
    }

    private static TrainSettings settings(Mode mode, Path store, long steps) {
        return new TrainSettings(mode, store, BATCH, steps, 1.0f, 9, 2, 256, EVERY, false, false, "host",
                TrainSettings.DEFAULT_BUDGET);
    }

    private static long digest(Path store) {
        try (Store s = Store.open(store, StoreConfig.builder().jmx(false).build())) {
            return StoreDigest.of(s) * 31 + java.util.Arrays.hashCode(s.lastCheckpoint().blobs().get(Trainer.MODEL_BLOB));
        }
    }

    @Test
    void aLostDeviceStopsAtTheLastCheckpointOrContinuesOnTheHost() {
        AtomicLong ops = new AtomicLong();
        new Trainer(settings(Mode.CACHE, dir.resolve("count"), STEPS), MODEL,
                name -> FaultyDevice.lostAt(new HostDevice(), Long.MAX_VALUE, ops), false).run(data, step -> { });
        long failAt = ops.get() / 2;
        assertTrue(failAt > 10, "the run used the device: " + ops.get() + " operations");

        Path stopped = dir.resolve("stopped");
        AtomicLong ops2 = new AtomicLong();
        DeviceException e = assertThrows(DeviceException.class, () -> new Trainer(settings(Mode.CACHE, stopped, STEPS), MODEL,
                name -> FaultyDevice.lostAt(new HostDevice(), failAt, ops2), false).run(data, step -> { }));
        assertTrue(e.getMessage().contains("injected fault: device"), e.getMessage());
        long at = Store.readManifest(stopped).step();
        assertTrue(at % EVERY == 0 && at < STEPS, "stopped at checkpoint " + at);
        Path reference = dir.resolve("reference");
        if (at > 0) {
            new Trainer(settings(Mode.BASELINE, reference, at), MODEL).run(data, step -> { });
            assertEquals(digest(reference), digest(stopped), "the stopped store equals a baseline run stopped at " + at);
        }

        Path fellBack = dir.resolve("fell-back");
        AtomicLong ops3 = new AtomicLong();
        ModeResult r = new Trainer(settings(Mode.CACHE, fellBack, STEPS), MODEL,
                name -> name.equals("host") && ops3.get() >= failAt ? new HostDevice() : FaultyDevice.lostAt(new HostDevice(), failAt, ops3),
                true).run(data, step -> { });
        assertEquals(STEPS, r.steps());
        assertEquals("host", r.device());
        Path straight = dir.resolve("uninterrupted");
        new Trainer(settings(Mode.BASELINE, straight, STEPS), MODEL).run(data, step -> { });
        assertArrayEquals(Store.readManifest(straight).blobs().get(Trainer.MODEL_BLOB),
                Store.readManifest(fellBack).blobs().get(Trainer.MODEL_BLOB), "MLP weights after the fallback");
        assertEquals(digest(straight), digest(fellBack), "rows and weights after the fallback");
        System.out.printf("device lost at operation %d of %d: stopped at checkpoint %d; fallback finished %d steps on the host%n",
                failAt, ops.get(), at, r.steps());
    }
}

package dev.ember.trainer.train;

import dev.ember.cache.jmx.KnobMXBean;
import dev.ember.cache.jmx.MBeans;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.testing.StoreDigest;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceMemoryException;
import dev.ember.gpu.device.FaultyDevice;
import dev.ember.gpu.device.HostDevice;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.model.ModelConfig;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import javax.management.JMX;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hot tier's device failing mid-run, injected at the {@link Device} boundary by
 * {@link FaultyDevice}, with {@code --on-device-loss stop} (the run ends with a
 * {@link DeviceFailedException} saying what the store holds) and {@code host} (training goes on
 * from the store's last checkpoint on the host device). What is kept is checked exactly, against
 * plain runs without faults stopped at the step in question (digest of every row and the MLP
 * weights, see {@link #digest}):
 * <ul>
 *   <li>device lost (every operation fails from one on): nothing can be read back, so the store
 *       keeps its last checkpoint and the steps after it are lost;</li>
 *   <li>device out of memory (the budget raised through JMX beyond what the card can allocate):
 *       the device still answers, so its dirty hot rows are saved at the failed step, and nothing
 *       is lost;</li>
 *   <li>one operation fails and the device answers again (drawn points of a run, every mode):
 *       saved at the failed step, except inside a step's embedding update, which leaves that step
 *       half applied; then the last checkpoint stands.</li>
 * </ul>
 */
class DeviceLossTest {
    static final int BATCH = 128;
    static final int EVERY = 5;
    static final ModelConfig MODEL = ModelConfig.dlrm(26, "13-16-16", "16-1");

    @TempDir
    static Path shared;
    static BinaryDataset data;

    @TempDir
    Path dir;

    @BeforeAll
    static void generate() throws IOException {
        data = GeneratedData.open(shared, 20_000, 6);
    }

    private static TrainSettings settings(Mode mode, Path store, long steps, long every, boolean resume) {
        return new TrainSettings(mode, store, BATCH, steps, 1.0f, 9, 2, 256, every, resume, false, "host",
                TrainSettings.DEFAULT_BUDGET);
    }

    private static ModeResult train(Mode mode, Path store, long steps, long every, Function<String, Device> devices,
                                    boolean host, java.util.function.LongConsumer onStep) {
        return train(mode, store, steps, every, 0, devices, host, onStep);
    }

    /** {@code evalEvery}: steps between curve points (0: about 20 a run, every step in a 20-step run, so no batch goes ahead). */
    private static ModeResult train(Mode mode, Path store, long steps, long every, long evalEvery, Function<String, Device> devices,
                                    boolean host, java.util.function.LongConsumer onStep) {
        return new Trainer(settings(mode, store, steps, every, false), MODEL, devices, host).evalEvery(evalEvery).run(data, onStep);
    }

    /** Every row of every table, the step, the MLP weights and fae's data position. */
    private static long digest(Path store) {
        try (Store s = Store.open(store, StoreConfig.builder().jmx(false).build())) {
            var blobs = s.lastCheckpoint().blobs();
            return ((StoreDigest.of(s) * 31 + s.lastCheckpoint().step()) * 31
                    + Arrays.hashCode(blobs.get(Trainer.MODEL_BLOB))) * 31 + Arrays.hashCode(blobs.get(FaeBatches.BLOB));
        }
    }

    /** Digests of a run without faults at the steps asked, in one store resumed from step to step (resume is exact). */
    private final class Reference {
        final Mode mode;
        final Path store;
        final TreeMap<Long, Long> digests = new TreeMap<>();
        long at = -1;

        Reference(Mode mode, String name) {
            this.mode = mode;
            this.store = dir.resolve(name);
        }

        long at(long step) {
            if (!digests.containsKey(step)) {
                if (step < at) {
                    throw new AssertionError("reference asked for step " + step + " after " + at);
                }
                if (step == 0) {
                    // what a run creates before its first step: the data's tables, the run's seed
                    Store.create(store, StoreConfig.builder().tables(Trainer.tableSpecs(data, 26, MODEL.dim())).seed(9)
                            .threads(2).jmx(false).build()).close();
                } else {
                    new Trainer(settings(mode, store, step, EVERY, at >= 0), MODEL).run(data, s -> { });
                }
                at = step;
                digests.put(step, digest(store));
            }
            return digests.get(step);
        }
    }

    @Test
    void aLostDeviceCannotBeReadSoTheRunStopsAtItsLastCheckpointOrGoesOnFromItOnTheHost() {
        int steps = 20;
        AtomicLong ops = new AtomicLong();
        train(Mode.CACHE, dir.resolve("count"), steps, EVERY, name -> FaultyDevice.lostAt(new HostDevice(), Long.MAX_VALUE, ops),
                false, s -> { });
        long failAt = ops.get() * 3 / 5;
        assertTrue(failAt > 10, "the run used the device: " + ops.get() + " operations");

        Path stopped = dir.resolve("stopped");
        DeviceFailedException e = assertThrows(DeviceFailedException.class, () -> train(Mode.CACHE, stopped, steps, EVERY,
                name -> FaultyDevice.lostAt(new HostDevice(), failAt, new AtomicLong()), false, s -> { }));
        // Nothing is saved from a lost device, unless nothing was trained since the last checkpoint:
        // lost mid-step, or at a boundary where its rows then cannot be read back.
        assertTrue(e.getMessage().contains("injected fault: device") && (e.saved()
                ? e.getMessage().contains("nothing was trained since")
                : (e.getMessage().contains("could not be read back") || e.getMessage().contains("in the middle of a step"))
                        && e.getMessage().contains("steps after it are lost")),
                e.getMessage());
        long at = Store.readManifest(stopped).step();
        assertEquals(at, e.checkpointStep());
        assertTrue(at % EVERY == 0 && at < steps, "stopped at checkpoint " + at);
        Reference reference = new Reference(Mode.BASELINE, "reference");
        assertEquals(reference.at(at), digest(stopped), "the stopped store equals a baseline run stopped at " + at);

        Path fellBack = dir.resolve("fell-back");
        AtomicLong ops3 = new AtomicLong();
        ModeResult r = train(Mode.CACHE, fellBack, steps, EVERY,
                name -> ops3.get() >= failAt ? new HostDevice() : FaultyDevice.lostAt(new HostDevice(), failAt, ops3), true, s -> { });
        assertEquals(steps, r.steps());
        assertEquals("host", r.device());
        assertEquals((steps - at) * BATCH, r.samples(), "the fallback trained from checkpoint " + at);
        assertEquals(reference.at(steps), digest(fellBack), "rows and weights after the fallback");
        System.out.printf("device lost at operation %d of %d: stopped at checkpoint %d; fallback finished %d steps on the host%n",
                failAt, ops.get(), at, r.steps());
    }

    /**
     * The budget is raised through JMX (to 40% of the rows) at step 30; the knob's next choice
     * (started at step KNOB_PERIOD, taking effect KNOB_LAG steps later) needs a larger hot pool,
     * and the card has no more memory.
     */
    @Test
    void aDeviceOutOfMemoryHasItsHotRowsSavedAtTheFailedStepAndNothingIsLost() {
        int steps = Trainer.KNOB_PERIOD + Trainer.KNOB_LAG + 8;
        int every = 20;
        while ((Trainer.KNOB_PERIOD + Trainer.KNOB_LAG) % every == 0) {
            every++; // the pool grows (and the card runs out) at that step: not a periodic checkpoint
        }
        int checkpointEvery = every;
        long[] atStart = new long[1];
        FaultyDevice[] counted = new FaultyDevice[1];
        train(Mode.CACHE, dir.resolve("count"), steps, checkpointEvery, name -> counted[0] = FaultyDevice.outOfMemoryAfter(new HostDevice(),
                Long.MAX_VALUE, new AtomicLong()), false, step -> {
                    if (step == 1) {
                        atStart[0] = counted[0].allocations();
                    }
                    raiseBudgetAt30(step);
                });
        assertTrue(counted[0].allocations() > atStart[0], "the raised budget made the pool grow mid-run: "
                + atStart[0] + " allocations at step 1, " + counted[0].allocations() + " at the end");

        Path stopped = dir.resolve("stopped");
        DeviceFailedException e = assertThrows(DeviceFailedException.class, () -> train(Mode.CACHE, stopped, steps, checkpointEvery,
                name -> FaultyDevice.outOfMemoryAfter(new HostDevice(), atStart[0], new AtomicLong()), false,
                DeviceLossTest::raiseBudgetAt30));
        assertInstanceOf(DeviceMemoryException.class, e.getCause());
        assertTrue(e.saved() && e.getMessage().contains("hot rows were saved") && e.getMessage().contains("nothing is lost"),
                e.getMessage());
        long at = e.checkpointStep();
        assertEquals(at, Store.readManifest(stopped).step());
        assertTrue(at >= Trainer.KNOB_PERIOD + Trainer.KNOB_LAG && at % checkpointEvery != 0, "saved at step " + at + ", past the last periodic checkpoint");
        Reference reference = new Reference(Mode.BASELINE, "reference");
        assertEquals(reference.at(at), digest(stopped), "the saved store equals a baseline run stopped at " + at);

        Path fellBack = dir.resolve("fell-back");
        AtomicInteger opened = new AtomicInteger();
        ModeResult r = train(Mode.CACHE, fellBack, steps, checkpointEvery, name -> opened.getAndIncrement() == 0
                ? FaultyDevice.outOfMemoryAfter(new HostDevice(), atStart[0], new AtomicLong()) : new HostDevice(), true,
                DeviceLossTest::raiseBudgetAt30);
        assertEquals(steps, r.steps());
        assertEquals((steps - at) * BATCH, r.samples(), "the host run went on from the saved step " + at);
        assertEquals(reference.at(steps), digest(fellBack), "rows and weights after going on on the host");
        System.out.printf("device out of memory at step %d (last periodic checkpoint %d): saved there; the host run finished %d steps%n",
                at, at / checkpointEvery * checkpointEvery, r.steps());
    }

    private static void raiseBudgetAt30(long step) {
        if (step == 30) {
            JMX.newMXBeanProxy(ManagementFactory.getPlatformMBeanServer(), MBeans.knobName(), KnobMXBean.class).setBudget("40%");
        }
    }

    /**
     * One device operation fails, and the device answers again: the last operation before step 7
     * ends (an evaluation's lookup or a checkpoint's read of hot rows) and points drawn over the
     * training part of the run. With evaluations every 10 steps, the tiered modes hold batches
     * announced ahead when most operations fail (fae: up to {@link Trainer#FAE_LOOKAHEAD} of its
     * window besides the one failing), and the first point is drawn too. The store then holds the failed step (or, for a failure inside a
     * step's embedding update, the last checkpoint), equal to a run without faults stopped there;
     * the first saved one is resumed to the end and equals the uninterrupted run.
     */
    @ParameterizedTest(name = "{0}, {1} drawn failures, evaluations every {2} steps")
    @CsvSource({"CACHE, 1, 0", "FAE, 1, 0", "DEVICE, 0, 0", "FAE, 4, 10"})
    void aDeviceThatFailsOnceAndStillAnswersKeepsEveryStepOutsideAnUpdate(Mode mode, int drawn, int evalEvery) {
        int steps = 20;
        AtomicLong ops = new AtomicLong();
        long[] opsAt = new long[steps + 1];
        train(mode, dir.resolve("count"), steps, EVERY, evalEvery,
                name -> FaultyDevice.failsOnceAt(new HostDevice(), Long.MAX_VALUE, ops), false, step -> opsAt[(int) step] = ops.get());
        long total = ops.get();
        SplittableRandom rnd = new SplittableRandom(mode.ordinal() * 31L + 5 + evalEvery);
        long[] points = java.util.stream.LongStream.concat(java.util.stream.LongStream.of(opsAt[7]).limit(evalEvery == 0 ? 1 : 0),
                rnd.longs(drawn, opsAt[1] + 1, total + 1).sorted()).toArray();
        Reference reference = new Reference(mode == Mode.FAE ? Mode.FAE : Mode.BASELINE, "reference");
        TreeMap<Long, Path> stores = new TreeMap<>();
        TreeMap<Long, java.util.List<String>> stoppedAt = new TreeMap<>();
        for (int i = 0; i < points.length; i++) {
            long failAt = points[i];
            Path stopped = dir.resolve("stopped-" + i);
            DeviceFailedException e = assertThrows(DeviceFailedException.class, () -> train(mode, stopped, steps, EVERY, evalEvery,
                    name -> FaultyDevice.failsOnceAt(new HostDevice(), failAt, new AtomicLong()), false, s -> { }),
                    mode + ": operation " + failAt + " of " + total + " failed");
            long at = e.checkpointStep();
            assertEquals(at, Store.readManifest(stopped).step());
            if (e.saved()) {
                stores.putIfAbsent(at, stopped);
            } else {
                assertTrue(e.getMessage().contains("in the middle of a step (") && at % EVERY == 0, e.getMessage());
            }
            if (i == 0 && evalEvery == 0) {
                assertTrue(e.saved() && at == 7, "the failure as step 7 ends is saved at 7: " + e.getMessage());
            }
            stoppedAt.computeIfAbsent(at, k -> new java.util.ArrayList<>()).add(stopped.getFileName().toString());
            byte[] window = Store.readManifest(stopped).blobs().get(FaeBatches.BLOB);
            System.out.printf("%s: operation %d of %d failed once: %s at step %d%s%n", mode, failAt, total,
                    e.saved() ? "saved" : "last checkpoint kept", at,
                    window == null ? "" : " (" + java.nio.ByteBuffer.wrap(window).getInt(20) + " batches of its fae window trained)");
        }
        stoppedAt.forEach((at, names) -> names.forEach(name -> assertEquals(reference.at(at), digest(dir.resolve(name)),
                mode + ": " + name + " at step " + at + " equals a run without faults stopped there")));
        // The first saved store goes on to the end with --resume: the uninterrupted run's model.
        Path resumed = stores.firstEntry().getValue();
        new Trainer(settings(mode, resumed, steps, EVERY, true), MODEL).run(data, s -> { });
        assertEquals(reference.at(steps), digest(resumed), mode + ": resumed from step " + stores.firstKey());
        assertArrayEquals(Store.readManifest(reference.store).blobs().get(Trainer.MODEL_BLOB),
                Store.readManifest(resumed).blobs().get(Trainer.MODEL_BLOB), mode + ": MLP weights after the resume");
    }
}

package dev.ember.trainer.train;

import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.jmx.TrainerStatus;
import dev.ember.trainer.model.ModelConfig;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import javax.management.MBeanServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Periodic evaluation observes without disturbing: a run evaluated every 3 steps trains the same
 * model (same final AUC and loss bits, same host gathers) as one evaluated only at the end, in
 * the baseline and the cache mode (whose look-ahead must drain before each evaluation). The
 * Trainer MXBean is registered while a mode trains and gone after.
 */
class LearningCurveTest {
    static final ModelConfig MODEL = ModelConfig.of(26, new int[] {13, 16, 16}, new int[] {367, 16, 1});

    @TempDir
    static Path shared;
    static BinaryDataset data;

    @TempDir
    Path dir;

    @BeforeAll
    static void generate() throws IOException {
        data = GeneratedData.open(shared, 6000, 9);
    }

    private Trainer trainer(Mode mode, String store, long evalEvery) {
        TrainSettings s = new TrainSettings(mode, dir.resolve(store), 64, 20, 0.5f, 4, 2, 512, 0, false, false, "host",
                TrainSettings.DEFAULT_BUDGET);
        return new Trainer(s, MODEL).evalEvery(evalEvery);
    }

    @Test
    void evaluatingEveryFewStepsChangesNothingThatTrains() {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        for (Mode mode : new Mode[] {Mode.BASELINE, Mode.CACHE}) {
            Trainer often = trainer(mode, mode.label() + "-often", 3);
            boolean[] registered = {false};
            ModeResult a = often.run(data, step -> registered[0] |= server.isRegistered(TrainerStatus.objectName()));
            ModeResult b = trainer(mode, mode.label() + "-once", 1000).run(data, step -> { });
            assertTrue(registered[0], "the Trainer MXBean is registered while " + mode + " trains");
            assertFalse(server.isRegistered(TrainerStatus.objectName()), "the Trainer MXBean outlives the run");

            assertEquals(Double.doubleToRawLongBits(b.auc()), Double.doubleToRawLongBits(a.auc()), mode.label());
            assertEquals(Double.doubleToRawLongBits(b.logLoss()), Double.doubleToRawLongBits(a.logLoss()), mode.label());
            assertEquals(Double.doubleToRawLongBits(b.finalTrainLoss()), Double.doubleToRawLongBits(a.finalTrainLoss()));
            assertEquals(b.hostGathers(), a.hostGathers(), mode.label() + ": evaluations count as training lookups");
            assertEquals(20, a.hotSteps() + a.coldSteps());

            Curve c = often.curve();
            assertArrayEquals(new long[] {0, 3, 6, 9, 12, 15, 18, 20}, c.steps(), mode.label());
            double[] t = c.seconds();
            for (int i = 1; i < t.length; i++) {
                assertTrue(t[i] >= t[i - 1], mode + " curve time goes back");
            }
            assertTrue(t[t.length - 1] <= a.seconds() + 1e-9, "curve time excludes evaluations as the result does");
            assertTrue(Double.isNaN(c.hitRate()[0]) && Double.isNaN(c.trainLoss()[0]), "the first point has no window");
            double hit = c.hitRate()[1];
            assertTrue(mode == Mode.BASELINE ? hit == 0.0 : hit > 0 && hit <= 1, mode + " hit rate " + hit);
            assertTrue(c.trainLoss()[1] > 0, "training loss of the first window");
            TrainerStatus s = often.status();
            assertEquals(20, s.getStep());
            assertEquals(20L * 64, s.getSamples());
            assertEquals(20, s.getLastEvalStep());
            assertEquals(Double.doubleToRawLongBits(a.auc()), Double.doubleToRawLongBits(s.getLastEvalAuc()));
            assertTrue(s.getSamplesPerSecond() > 0 && s.getLoss() > 0);
        }
    }
}

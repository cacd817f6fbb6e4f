package dev.ember.gpu.tiered;

import dev.ember.cache.tiered.TieredConfig;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.FaultyDevice;
import dev.ember.gpu.device.HostDevice;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tiered store where every device event says "not done" twice before it says "done": the
 * boundaries that do not wait put off chunks, take promoted rows' bytes at publishing or leave
 * them for later, and every row still matches the reference.
 */
class LaggingTieredStoreTest extends TieredStoreContract {
    @Override
    protected Device openDevice() {
        return FaultyDevice.eventsLagging(new HostDevice(), 2);
    }

    @Override
    protected boolean eventsAnswerLate() {
        return true;
    }

    /** Re-tiering every step with lookahead: the boundaries put chunks off and drop late rows, and nothing is lost. */
    @Test
    void boundariesThatFindTheDeviceBehindPutChunksOffAndLoseNothing() {
        Workload w = new Workload(19, ROWS, 48, DIM);
        ReferenceRows ref = new ReferenceRows(specs(), 42);
        TieredConfig c = config(w, 1, 0).withChunks(32, 1).withPrefetchThreads(2);
        try (Rig rig = new Rig(dir.resolve("lag"), c, true)) {
            rig.run(w, 0, 40, 0, ref, step -> { });
            assertTrue(rig.tiered.chunksPutOffForTheDevice() > 0, "chunks put off: " + rig.tiered.moveWaits());
            assertTrue(rig.tiered.hotSet().generation() > 3, "rows still moved: " + rig.tiered.hotSet());
            assertRowsEqual(ref, rig.allRows());
        }
    }
}

package dev.ember.trainer.model.cpu;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChunkRunnerTest {
    /**
     * Eight threads on any machine, oversubscribed on purpose for more interleavings: so the
     * 2-core dev box finds the stale-worker race that first showed on a 16-core host (an index
     * run twice, within about 5,000 calls, before the ticket was published first).
     */
    @Test
    void runsEveryIndexExactlyOncePerCall() {
        try (ChunkRunner runner = new ChunkRunner(8, "test")) {
            for (int call = 0; call < 50_000; call++) {
                int count = 1 + call % 37;
                AtomicIntegerArray hits = new AtomicIntegerArray(count);
                runner.run(hits::incrementAndGet, count);
                for (int i = 0; i < count; i++) {
                    assertEquals(1, hits.get(i), "call " + call + " index " + i);
                }
            }
        }
    }

    @Test
    void aFailingTaskSurfacesInTheCaller() {
        try (ChunkRunner runner = new ChunkRunner(3, "test")) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> runner.run(i -> {
                if (i == 5) {
                    throw new ArithmeticException("boom");
                }
            }, 8));
            assertTrue(e.getCause() instanceof ArithmeticException);
            AtomicIntegerArray hits = new AtomicIntegerArray(8);
            runner.run(hits::incrementAndGet, 8); // still usable
            assertEquals(1, hits.get(7));
        }
    }
}

package dev.ember.trainer.model.cpu;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChunkRunnerTest {
    @Test
    void runsEveryIndexExactlyOncePerCall() {
        try (ChunkRunner runner = new ChunkRunner(4, "test")) {
            for (int call = 0; call < 2_000; call++) {
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

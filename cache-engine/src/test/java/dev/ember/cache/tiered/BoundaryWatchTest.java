package dev.ember.cache.tiered;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

class BoundaryWatchTest {
    /** A boundary that blocks for 20 ms in a method the stack must name. */
    private static void boundaryParkedInThisMethod(BoundaryWatch w) {
        w.begin(System.nanoTime());
        long end = System.nanoTime() + 20_000_000L;
        while (System.nanoTime() < end) {
            LockSupport.parkNanos(end - System.nanoTime());
        }
        w.end();
    }

    @Test
    void aBoundaryPastOneMillisecondHasItsThreadsStateAndStackTakenOnceAndAShortOneNone() throws Exception {
        try (BoundaryWatch w = new BoundaryWatch()) {
            for (int i = 0; i < 50; i++) {
                w.begin(System.nanoTime()); // boundaries well under 1 ms
                w.end();
            }
            Thread.sleep(5);
            assertEquals("none", w.samples());
            boundaryParkedInThisMethod(w);
            Thread.sleep(5);
            String s = w.samples();
            assertEquals(1, s.split("\n").length, "one sample a boundary: " + s);
            assertTrue(s.contains("ms in, TIMED_WAITING:"), s);
            assertTrue(s.contains("BoundaryWatchTest.boundaryParkedInThisMethod:"), s);
        }
    }
}

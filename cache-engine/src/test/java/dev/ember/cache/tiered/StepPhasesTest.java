package dev.ember.cache.tiered;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class StepPhasesTest {
    private static void boundary(StepPhases p, long nanos, long cpu) {
        p.boundary(nanos, 0, nanos, 0, 0, false, 0, 0, 0, 0, cpu, 0, 0, 0);
    }

    @Test
    void boundariesOverOneMillisecondAreKeptWithTheirUptimeDurationAndCpu() {
        StepPhases p = new StepPhases();
        assertEquals("none", p.slowBoundaryTimes());
        long before = ManagementFactory.getRuntimeMXBean().getUptime();
        boundary(p, 500_000, 400_000);
        boundary(p, 2_500_000, 300_000);
        boundary(p, 1_000_000, 1_000_000); // exactly 1 ms is not over it
        long after = ManagementFactory.getRuntimeMXBean().getUptime();
        String text = p.slowBoundaryTimes();
        assertEquals(1, p.slowBoundaries.sum());
        assertTrue(text.matches("at \\d+\\.\\d{3} s 2\\.50 ms \\(CPU 0\\.30\\)"), text);
        double at = Double.parseDouble(text.substring(3, text.indexOf(" s ")));
        assertTrue(at * 1e3 >= before - 2 && at * 1e3 <= after + 2, at + " s outside the JVM's uptime " + before + ".." + after + " ms");
        for (int i = 0; i < 2 * StepPhases.SLOW_KEPT; i++) {
            boundary(p, 3_000_000, 0);
        }
        assertEquals(StepPhases.SLOW_KEPT, p.slowBoundaryTimes().split(", ").length, "the first ones kept");
        assertEquals(1 + 2 * StepPhases.SLOW_KEPT, p.slowBoundaries.sum(), "all counted");
    }

    @Test
    void aKeptBoundarysDetailNamesItsReReadsItsWaitForACoreAndItsFaultsAndSwitchesWhenRead() {
        StepPhases p = new StepPhases();
        boundary(p, 4_000_000, 300_000);
        p.slowBoundaryDetail(12, 3_500_000, -1, null, null);
        boundary(p, 500_000, 400_000);
        p.slowBoundaryDetail(3, 100_000, 50_000, null, null); // not slow: nothing kept to add it to
        boundary(p, 2_000_000, 1_900_000);
        p.slowBoundaryDetail(0, 0, 20_000, null, null);
        boundary(p, 5_000_000, 200_000);
        p.slowBoundaryDetail(0, 0, 10_000, new long[] {100, 7, 40, 9}, new long[] {103, 7, 41, 11});
        String[] kept = p.slowBoundaryTimes().split(", ");
        assertEquals(3, kept.length, p.slowBoundaryTimes());
        assertTrue(kept[0].endsWith("4.00 ms (CPU 0.30; 12 rows re-read in 3.50 ms)"), kept[0]);
        assertTrue(kept[1].endsWith("2.00 ms (CPU 1.90; waiting for a core 0.02 ms)"), kept[1]);
        assertTrue(kept[2].endsWith("5.00 ms (CPU 0.20; waiting for a core 0.01 ms; faults 3 minor 0 major;"
                + " switches 1 blocked 2 preempted)"), kept[2]);
        for (int i = 0; i < 2 * StepPhases.SLOW_KEPT; i++) {
            boundary(p, 3_000_000, 0);
            p.slowBoundaryDetail(7, 1_000_000, 0, null, null);
        }
        String[] all = p.slowBoundaryTimes().split(", ");
        assertEquals(StepPhases.SLOW_KEPT, all.length);
        assertTrue(all[0].endsWith("(CPU 0.30; 12 rows re-read in 3.50 ms)"), "boundaries past those kept change none: " + all[0]);
        assertTrue(all[StepPhases.SLOW_KEPT - 1].endsWith("(CPU 0.00; 7 rows re-read in 1.00 ms; waiting for a core 0.00 ms)"),
                all[StepPhases.SLOW_KEPT - 1]);
    }
}

package dev.ember.cache.tiered;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class TableWorkersTest {

    @Test
    void everyTableRunsExactlyOnceInEveryRun() {
        SplittableRandom rnd = new SplittableRandom(7);
        try (TableWorkers w = new TableWorkers(4, "test-workers")) {
            for (int run = 0; run < 20_000; run++) {
                int n = rnd.nextInt(0, 40);
                AtomicIntegerArray seen = new AtomicIntegerArray(Math.max(1, n));
                w.run(n, t -> seen.incrementAndGet(t));
                for (int t = 0; t < n; t++) {
                    assertEquals(1, seen.get(t), "run " + run + " of " + n + " tables: table " + t);
                }
            }
        }
    }

    @Test
    void aFailureReachesTheCallerAfterEveryTableRan() {
        try (TableWorkers w = new TableWorkers(3, "test-workers")) {
            AtomicIntegerArray seen = new AtomicIntegerArray(26);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.run(26, t -> {
                seen.incrementAndGet(t);
                if (t == 5) {
                    throw new IllegalStateException("table 5 failed");
                }
            }));
            assertEquals("table 5 failed", e.getMessage());
            for (int t = 0; t < 26; t++) {
                assertEquals(1, seen.get(t), "table " + t);
            }
            AtomicIntegerArray again = new AtomicIntegerArray(26);
            w.run(26, again::incrementAndGet); // the pool still works
            for (int t = 0; t < 26; t++) {
                assertEquals(1, again.get(t), "table " + t);
            }
        }
    }

    /**
     * A started run goes on behind the caller; joining it (or the next run, which joins it first)
     * finds every table done exactly once, and a failure in it reaches whoever joins.
     */
    @Test
    void aStartedRunIsDoneOnceJoinedAndItsFailureReachesTheJoiner() {
        SplittableRandom rnd = new SplittableRandom(11);
        try (TableWorkers w = new TableWorkers(4, "test-workers")) {
            for (int run = 0; run < 5_000; run++) {
                int n = rnd.nextInt(0, 40);
                AtomicIntegerArray seen = new AtomicIntegerArray(Math.max(1, n));
                w.start(n, t -> seen.incrementAndGet(t));
                if (rnd.nextBoolean()) {
                    w.awaitStarted();
                } else {
                    AtomicIntegerArray next = new AtomicIntegerArray(3);
                    w.run(3, next::incrementAndGet); // joins the started run first
                    for (int t = 0; t < 3; t++) {
                        assertEquals(1, next.get(t));
                    }
                }
                assertEquals(false, w.started());
                for (int t = 0; t < n; t++) {
                    assertEquals(1, seen.get(t), "run " + run + " of " + n + " tables: table " + t);
                }
            }
            w.start(26, t -> {
                if (t == 7) {
                    throw new IllegalArgumentException("table 7 failed");
                }
            });
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, w::awaitStarted);
            assertEquals("table 7 failed", e.getMessage());
            w.awaitStarted(); // nothing left to join
        }
    }

    @Test
    void oneThreadRunsOnTheCaller() {
        try (TableWorkers w = new TableWorkers(1, "test-workers")) {
            Thread caller = Thread.currentThread();
            w.run(5, t -> assertEquals(caller, Thread.currentThread()));
        }
        assertThrows(IllegalArgumentException.class, () -> new TableWorkers(0, "x"));
    }

    @Test
    void aPoolsThreadCountComesFromItsPropertyOrTheFallbackAndABadOneIsRefusedByName() {
        String property = "ember.test.threads";
        try {
            System.clearProperty(property);
            assertEquals(8, TableWorkers.threadsAsSet(property, 8, "the test pool"));
            System.setProperty(property, " 12 ");
            assertEquals(12, TableWorkers.threadsAsSet(property, 8, "the test pool"));
            for (String bad : new String[] {"0", "-3", "many", ""}) {
                System.setProperty(property, bad);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> TableWorkers.threadsAsSet(property, 8, "the test pool"));
                assertEquals("-D" + property + "=" + bad + ": the test pool needs a whole number of threads >= 1"
                        + " (leave it unset for the default, 8)", e.getMessage());
            }
        } finally {
            System.clearProperty(property);
        }
    }
}

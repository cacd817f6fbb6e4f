package dev.ember.cache.durability;

import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.testing.ChildJvm;
import dev.ember.cache.testing.CrashChild;
import dev.ember.cache.testing.StoreDigest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A child JVM applying and checkpointing is killed with SIGKILL at uniformly drawn moments; every
 * reopen must equal the digest of the last completed checkpoint (or of the one being written when
 * the kill landed after its manifest's rename). Half the runs force pre-images to the device, half
 * only write them: a process crash must be exact either way. Every other pair of runs keeps rows of
 * the first table in memory as a hot tier would and checkpoints them as a hot dump
 * ({@link CrashChild}), so kills land while a dump is written, before its manifest, and while
 * the next open puts a dump's rows into the tables.
 */
class CrashRecoveryTest {
    private static final int MIN_KILLS = 20;
    private static final int MIN_INSIDE_CHECKPOINT = 5;
    private static final int MAX_RUNS = 60;

    @TempDir
    Path dir;

    @Test
    void everyReopenAfterSigkillEqualsTheLastCompletedCheckpoint() throws Exception {
        List<TableSpec> specs = List.of(
                new TableSpec("clicks", 4000, 16, Optimizer.ADAGRAD),
                new TableSpec("users", 6000, 8, Optimizer.ROWWISE_ADAGRAD),
                new TableSpec("ads", 3000, 4, Optimizer.SGD));
        Map<Long, Long> digests = new HashMap<>();
        try (Store s = Store.create(dir, StoreConfig.builder().seed(99).tables(specs).jmx(false).build())) {
            digests.put(0L, StoreDigest.of(s));
        }
        SplittableRandom rnd = new SplittableRandom(2026);
        long lastDone = 0;
        int kills = 0;
        int inside = 0;
        long checkpointNanos = 50_000_000L; // refined from observed checkpoints
        for (int run = 0; run < MAX_RUNS && (kills < MIN_KILLS || inside < MIN_INSIDE_CHECKPOINT); run++) {
            // Runs cycle through {forced, written-only pre-images} x {kill anywhere, kill in a checkpoint}.
            Process child = ChildJvm.start(CrashChild.class, dir.toString(), run % 4 < 2 ? "sync" : "nosync",
                    run % 8 < 4 ? "dump" : "plain");
            BlockingQueue<String> lines = new LinkedBlockingQueue<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) {
                        lines.add(System.nanoTime() + " " + l);
                    }
                } catch (Exception ignored) {
                    // the child was killed
                }
            });
            reader.start();
            List<String> seen = new ArrayList<>();
            try {
                awaitLine(lines, seen, "READY", child);
                // Half the kills at a uniform moment of the run; half at a uniform moment of a checkpoint.
                boolean aimAtCheckpoint = run % 2 == 1;
                if (aimAtCheckpoint) {
                    awaitLine(lines, seen, "BEGIN", child);
                    sleepNanos((long) (rnd.nextDouble() * checkpointNanos * 1.2));
                } else {
                    sleepNanos((long) (rnd.nextDouble() * 1.5e9));
                }
            } finally {
                child.destroyForcibly();
                assertTrue(child.waitFor(60, TimeUnit.SECONDS));
                reader.join();
            }
            lines.drainTo(seen);
            kills++;
            long beginStep = -1;
            long beginAt = 0;
            boolean open = false;
            for (String l : seen) {
                String[] f = l.split(" ");
                if (f.length < 2) {
                    continue;
                }
                if (f[1].equals("BEGIN")) {
                    beginStep = Long.parseLong(f[2]);
                    beginAt = Long.parseLong(f[0]);
                    digests.put(beginStep, Long.parseLong(f[3]));
                    open = true;
                } else if (f[1].equals("DONE")) {
                    lastDone = Long.parseLong(f[2]);
                    checkpointNanos = (checkpointNanos + Long.parseLong(f[0]) - beginAt) / 2;
                    open = false;
                }
            }
            if (open) {
                inside++;
            }
            try (Store s = Store.open(dir, StoreConfig.builder().tables(specs).jmx(false).build())) {
                long step = s.lastCheckpoint().step();
                if (open) {
                    assertTrue(step == lastDone || step == beginStep,
                            "killed inside checkpoint " + beginStep + " (last done " + lastDone + "): reopened at " + step);
                } else {
                    assertEquals(lastDone, step, "reopened at the wrong checkpoint");
                }
                Long want = digests.get(step);
                assertNotNull(want, "no digest recorded for step " + step);
                assertEquals(want.longValue(), StoreDigest.of(s), "run " + run + ": state differs from checkpoint " + step);
                if (step > 0) {
                    assertArrayEquals(new long[] {step}, s.lastCheckpoint().rngState());
                    assertTrue(Arrays.equals(CrashChild.blob(step), s.lastCheckpoint().blobs().get("weights")),
                            "blob of checkpoint " + step + " differs");
                }
                lastDone = step;
            }
        }
        assertTrue(kills >= MIN_KILLS, "only " + kills + " kills");
        assertTrue(inside >= MIN_INSIDE_CHECKPOINT, "only " + inside + " of " + kills + " kills landed inside a checkpoint");
        System.out.println("kills " + kills + ", inside a checkpoint " + inside + ", checkpoints up to step " + lastDone
                + ", mean checkpoint ~" + checkpointNanos / 1_000_000 + " ms");
    }

    private static void awaitLine(BlockingQueue<String> lines, List<String> seen, String marker, Process child)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String l = lines.poll(100, TimeUnit.MILLISECONDS);
            if (l == null) {
                if (!child.isAlive() && lines.isEmpty()) {
                    throw new AssertionError("child exited with " + child.exitValue() + " before " + marker + ": " + seen);
                }
                continue;
            }
            seen.add(l);
            if (l.split(" ")[1].equals(marker)) {
                return;
            }
        }
        throw new AssertionError("no " + marker + " from the child in 60 s: " + seen);
    }

    private static void sleepNanos(long nanos) throws InterruptedException {
        TimeUnit.NANOSECONDS.sleep(nanos);
    }
}

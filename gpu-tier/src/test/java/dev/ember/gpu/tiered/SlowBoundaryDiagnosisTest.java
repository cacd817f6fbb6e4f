package dev.ember.gpu.tiered;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.tiered.TieredConfig;
import dev.ember.cache.tiered.TieredStore;
import dev.ember.gpu.device.HostDevice;
import dev.ember.gpu.pool.SlotPool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With {@code -Dember.boundary.runDelay=true} a boundary over 1 ms names the step thread's wait
 * for a core, its page faults and its context switches: boundaries that wait for the moves'
 * cold-tier work, which sleeps 3 ms a task, block the step thread, and say so.
 */
class SlowBoundaryDiagnosisTest {
    @TempDir
    Path dir;

    @Test
    void aBoundaryThatBlocksNamesItsVoluntarySwitches() {
        assumeTrue(Files.isReadable(Path.of("/proc/thread-self/status")), "needs Linux's /proc/thread-self (a thread's switches)");
        Workload w = new Workload(5, TieredStoreContract.ROWS, 64, TieredStoreContract.DIM);
        TieredConfig config = TieredStoreContract.config(w, 3, 0).withChunks(64, 1);
        ExecutorService slowMoves = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>()) {
            @Override
            protected void beforeExecute(Thread t, Runnable r) {
                try {
                    Thread.sleep(3);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        try (SystemProperty wait = SystemProperty.set(TieredStore.WAIT_AT_BOUNDARY_PROPERTY, "true");
             SystemProperty diagnose = SystemProperty.set(TieredStore.RUN_DELAY_PROPERTY, "true");
             Store store = Store.create(dir, StoreConfig.builder().tables(TieredStoreContract.specs()).seed(1).jmx(false).build());
             HostDevice device = new HostDevice();
             SlotPool pool = new SlotPool(device, TieredStoreContract.specs().get(0).layout(), 64 * 1024);
             TieredStore tiered = TieredStore.open(store, pool, config, null, slowMoves)) {
            TieredStoreContract.Rig rig = TieredStoreContract.rigOver(store, pool, tiered, device);
            rig.run(w, 0, 20, 0, null, step -> { });
            String slow = tiered.phases().slowBoundaryTimes();
            Matcher m = Pattern.compile("waiting for a core [0-9.]+ ms; faults \\d+ minor \\d+ major; switches (\\d+) blocked \\d+ preempted")
                    .matcher(slow);
            assertTrue(m.find(), "a slow boundary names its wait for a core, faults and switches: " + slow);
            int blocked = 0;
            do {
                blocked = Math.max(blocked, Integer.parseInt(m.group(1)));
            } while (m.find());
            assertTrue(blocked >= 1, "a boundary that waited 3 ms for the moves' work blocked the step thread: " + slow);
        } finally {
            slowMoves.shutdownNow();
        }
    }
}

package dev.ember.trainer.train;

import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.testing.StoreDigest;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.model.ModelConfig;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.Attribute;
import javax.management.InstanceNotFoundException;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two threads read every attribute of every {@code dev.ember} MXBean of a training store while a
 * third sets the knob's budget over JMX, all through a cache-mode run: no read or write fails, the
 * counters never go back, rows never exceed capacity, and the trained model (rows and weights)
 * equals an uninterrupted baseline run's (budgets move rows, never values).
 */
class JmxDuringTrainingTest {
    static final ModelConfig MODEL = ModelConfig.dlrm(26, "13-16-16", "16-1");
    static final int STEPS = 160;

    @TempDir
    Path dir;

    @Test
    void concurrentReadersAndBudgetChangesNeverFailNorChangeTheModel() throws Exception {
        BinaryDataset data = GeneratedData.open(dir, 20_000, 4);
        Path store = dir.resolve("cache");
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        String storeKey = ObjectName.quote(store.toString());
        AtomicBoolean done = new AtomicBoolean();
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        AtomicLong reads = new AtomicLong();
        AtomicLong budgetsSet = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            threads.add(new Thread(() -> {
                Map<String, Long> last = new HashMap<>();
                while (!done.get()) {
                    try {
                        for (ObjectName name : server.queryNames(new ObjectName("dev.ember:*"), null)) {
                            if (!ours(name, storeKey)) {
                                continue;
                            }
                            for (MBeanAttributeInfo a : server.getMBeanInfo(name).getAttributes()) {
                                Object v = server.getAttribute(name, a.getName());
                                reads.incrementAndGet();
                                check(name, a.getName(), v, last);
                            }
                        }
                    } catch (InstanceNotFoundException gone) {
                        // the run opened or closed its store meanwhile
                    } catch (Throwable t) {
                        failures.add(t);
                        return;
                    }
                }
            }, "jmx-reader-" + r));
        }
        threads.add(new Thread(() -> {
            String[] budgets = {"5%", "30%", "64KiB", "0.15", "1MiB"};
            int i = 0;
            while (!done.get()) {
                try {
                    for (ObjectName name : server.queryNames(new ObjectName("dev.ember:type=Knob,*"), null)) {
                        if (ours(name, storeKey)) {
                            server.setAttribute(name, new Attribute("Budget", budgets[i++ % budgets.length]));
                            budgetsSet.incrementAndGet();
                        }
                    }
                    Thread.sleep(20);
                } catch (InstanceNotFoundException gone) {
                    // not yet open, or closed
                } catch (InterruptedException e) {
                    return;
                } catch (Throwable t) {
                    failures.add(t);
                    return;
                }
            }
        }, "jmx-budget"));
        threads.forEach(Thread::start);
        try {
            new Trainer(new TrainSettings(Mode.CACHE, store, 128, STEPS, 1.0f, 2, 2, 256, 40, false, false, "host",
                    TrainSettings.DEFAULT_BUDGET), MODEL).run(data, step -> { });
        } finally {
            done.set(true);
            for (Thread t : threads) {
                t.join();
            }
        }
        assertTrue(failures.isEmpty(), "JMX failures: " + failures);
        assertTrue(reads.get() > 100, "the readers read: " + reads.get());
        assertTrue(budgetsSet.get() > 5, "budgets were set: " + budgetsSet.get());
        Path baseline = dir.resolve("baseline");
        new Trainer(new TrainSettings(Mode.BASELINE, baseline, 128, STEPS, 1.0f, 2, 2, 256, 40, false, false, "host",
                TrainSettings.DEFAULT_BUDGET), MODEL).run(data, step -> { });
        assertEquals(digest(baseline), digest(store), "rows and weights under concurrent JMX equal the baseline's");
        System.out.printf("JMX during training: %,d attribute reads, %d budget changes%n", reads.get(), budgetsSet.get());
    }

    /** The first store of a JVM registers plain names; later ones add {@code store="<dir>"}. */
    private static boolean ours(ObjectName name, String storeKey) {
        String key = name.getKeyProperty("store");
        return key == null || key.equals(storeKey);
    }

    /**
     * Counters never go back; rows never exceed capacity; sizes are not negative; the Trainer bean's
     * "none yet" values (-1 step, NaN figures) are allowed before its first step or evaluation.
     */
    private static void check(ObjectName name, String attribute, Object v, Map<String, Long> last) {
        String key = name + "/" + attribute;
        if (v instanceof Long n) {
            if (attribute.matches("Gathers|Applies|RowsRead|RowsWritten|HotHits|ColdMisses|Evaluations|Generation")) {
                Long before = last.put(key, n);
                // the tier's counters read 0 once the tiered store has closed (it detaches them from the table)
                boolean detached = n == 0 && attribute.matches("HotHits|ColdMisses");
                assertTrue(before == null || n >= before || detached, key + " went back from " + before + " to " + n);
            }
            if (attribute.equals("LastEvalStep")) {
                assertTrue(n >= -1, key + " is below -1 (its 'no evaluation yet'): " + n);
            } else if (!attribute.equals("Headroom")) {
                assertTrue(n >= 0, key + " is negative: " + n);
            }
        } else if (v instanceof long[] a) {
            assertTrue(Arrays.stream(a).allMatch(x -> x >= 0), key + " has a negative entry: " + Arrays.toString(a));
        } else if (v instanceof Double d) {
            // the Trainer bean's loss and evaluation figures are NaN until there is one (documented)
            boolean notYet = "Trainer".equals(name.getKeyProperty("type"));
            assertTrue(!d.isNaN() || notYet || attribute.contains("Objective") || attribute.contains("Rate"), key + " is NaN");
        }
    }

    private static long digest(Path store) {
        try (Store s = Store.open(store, StoreConfig.builder().jmx(false).build())) {
            return StoreDigest.of(s) * 31 + Arrays.hashCode(s.lastCheckpoint().blobs().get(Trainer.MODEL_BLOB));
        }
    }
}

package dev.ember.gpu.tiered;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.knob.Budget;
import dev.ember.cache.knob.Hysteresis;
import dev.ember.cache.knob.KnobMode;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.tiered.StepBatch;
import dev.ember.cache.tiered.TieredConfig;
import dev.ember.cache.tiered.TieredStore;
import dev.ember.gpu.device.HostDevice;
import dev.ember.gpu.pool.SlotPool;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Drift end to end: the hot rows of a skewed stream move to other rows half-way; the knob,
 * re-evaluated every few steps over decaying counters, moves the hot set through the tiered
 * store, and within {@value #W} steps the measured hit rate reaches at least 95% of an oracle's
 * (the true top rows of the post-drift stream at the same budget). Every boundary waits for the
 * moves' cold-tier work ({@code -Dember.move.waitAtBoundary=true}), so the rows move at the same
 * boundaries on a busy machine as on an idle one and the hit rate measured is the knob's alone.
 * The hysteresis is the trainer's: 10% and one standard deviation of counting noise.
 */
class TieredDriftTest {
    static final int ROWS = 5000;
    static final int TABLES = 2;
    static final int BAGS = 256;
    static final int DRIFT = 60;
    static final int W = 60;
    static final int MEASURED = 40;
    static final int BUDGET_ROWS = 300;

    @TempDir
    Path dir;

    /** Rank r (0 = hottest) of step's draw, mapped to a row: identity before the drift, a bijection after. */
    static long row(long step, int rank) {
        return step < DRIFT ? rank : (rank * 7919L + 1234) % ROWS;
    }

    static void fill(long step, int t, PooledBatch out) {
        SplittableRandom r = new SplittableRandom(step * 31 + t);
        out.clear();
        for (int b = 0; b < BAGS; b++) {
            int rank = (int) (ROWS * Math.pow(r.nextDouble(), 4));
            out.add(row(step, Math.min(rank, ROWS - 1))).endBag();
        }
    }

    @Test
    void hitRateReachesTheOraclesWithinWStepsOfADrift() {
        List<TableSpec> specs = new ArrayList<>();
        for (int t = 0; t < TABLES; t++) {
            specs.add(new TableSpec("d" + t, ROWS, 8, Optimizer.SGD));
        }
        int rowBytes = specs.get(0).layout().bytesPerRow();
        TieredConfig config = new TieredConfig(Budget.ofBytes((long) BUDGET_ROWS * rowBytes), KnobMode.CACHE, 5, 1, new Hysteresis(0.1, 1),
                20, BAGS, BAGS, 256, 4, 0, false, 1);
        long hot = 0;
        long all = 0;
        long end = DRIFT + W + MEASURED;
        try (SystemProperty wait = SystemProperty.set(TieredStore.WAIT_AT_BOUNDARY_PROPERTY, "true");
             Store store = Store.create(dir, StoreConfig.builder().tables(specs).seed(1).jmx(false).build());
             HostDevice device = new HostDevice();
             SlotPool pool = new SlotPool(device, specs.get(0).layout(), 1 << 16);
             TieredStore tiered = TieredStore.open(store, pool, config);
             StepBatch batch = tiered.newBatch()) {
            float[][] grads = new float[TABLES][BAGS * 8];
            for (long step = 0; step < end; step++) {
                for (int t = 0; t < TABLES; t++) {
                    fill(step, t, batch.ids(t));
                }
                tiered.submit(batch);
                if (step >= DRIFT + W) {
                    hot += batch.hotIds();
                    all += batch.hotIds() + batch.coldIds();
                }
                tiered.gather(batch, null);
                tiered.apply(batch, grads, 0.01f, 0);
                tiered.endStep(step + 1);
            }
        }
        // Oracle: the top BUDGET_ROWS (table, row) pairs by post-drift frequency, over many post-drift batches.
        Map<Long, Integer> counts = new HashMap<>();
        PooledBatch b = new PooledBatch(BAGS, BAGS);
        for (long step = DRIFT; step < DRIFT + 2000; step++) {
            for (int t = 0; t < TABLES; t++) {
                fill(step, t, b);
                for (int i = 0; i < b.idCount(); i++) {
                    counts.merge(((long) t << 32) | b.id(i), 1, Integer::sum);
                }
            }
        }
        List<Map.Entry<Long, Integer>> ranked = new ArrayList<>(counts.entrySet());
        ranked.sort((x, y) -> y.getValue() != x.getValue().intValue() ? y.getValue() - x.getValue() : Long.compare(x.getKey(), y.getKey()));
        Set<Long> oracle = new HashSet<>();
        for (int i = 0; i < BUDGET_ROWS && i < ranked.size(); i++) {
            oracle.add(ranked.get(i).getKey());
        }
        long oracleHot = 0;
        long oracleAll = 0;
        DedupedIds d = new DedupedIds();
        for (long step = DRIFT + W; step < end; step++) {
            for (int t = 0; t < TABLES; t++) {
                fill(step, t, b);
                d.build(b);
                for (int u = 0; u < d.uniqueCount(); u++) {
                    oracleAll++;
                    if (oracle.contains(((long) t << 32) | d.unique()[u])) {
                        oracleHot++;
                    }
                }
            }
        }
        double rate = (double) hot / all;
        double oracleRate = (double) oracleHot / oracleAll;
        System.out.printf("hit rate %d..%d steps after the drift: %.4f, oracle %.4f%n", W, W + MEASURED, rate, oracleRate);
        assertTrue(oracleRate > 0.2, "the stream is skewed enough to matter: oracle " + oracleRate);
        assertTrue(rate >= 0.95 * oracleRate, "hit rate " + rate + " reaches 95% of the oracle's " + oracleRate);
    }
}

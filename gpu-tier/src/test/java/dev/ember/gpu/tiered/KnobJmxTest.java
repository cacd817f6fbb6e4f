package dev.ember.gpu.tiered;

import dev.ember.cache.jmx.KnobMXBean;
import dev.ember.cache.jmx.MBeans;
import dev.ember.cache.jmx.TableMXBean;
import dev.ember.cache.knob.Budget;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.tiered.TieredConfig;
import dev.ember.cache.tiered.TieredStore;
import dev.ember.gpu.device.HostDevice;
import dev.ember.gpu.pool.SlotPool;
import java.nio.file.Path;
import javax.management.JMX;
import javax.management.MBeanServerConnection;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import dev.ember.cache.jmx.LoopbackJmxServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A budget set through a real JMX connector on 127.0.0.1 takes effect at the knob's next evaluation.
 * Every boundary waits for the moves' cold-tier work ({@code -Dember.move.waitAtBoundary=true}), so
 * what has moved after a number of steps depends on the steps alone, never on how fast the machine's
 * threads ran (on a busy CI machine, nothing had published within the first 12 steps).
 */
class KnobJmxTest {
    @TempDir
    Path dir;


    @Test
    void budgetChangeThroughAConnectorTakesEffect() throws Exception {
        Workload w = new Workload(3, TieredStoreContract.ROWS, 64, TieredStoreContract.DIM);
        int rowBytes = TieredStoreContract.specs().get(0).layout().bytesPerRow();
        TieredConfig config = TieredStoreContract.config(w, 5, 0).withBudget(Budget.ofBytes(40L * rowBytes))
                .withChunks(256, 4);
        try (SystemProperty wait = SystemProperty.set(TieredStore.WAIT_AT_BOUNDARY_PROPERTY, "true");
             LoopbackJmxServer jmx = LoopbackJmxServer.start();
             Store store = Store.create(dir, StoreConfig.builder().tables(TieredStoreContract.specs()).seed(1).build());
             HostDevice device = new HostDevice();
             SlotPool pool = new SlotPool(device, TieredStoreContract.specs().get(0).layout(), 64 * 1024);
             TieredStore tiered = TieredStore.open(store, pool, config);
             JMXConnector client = JMXConnectorFactory.connect(jmx.address())) {
            MBeanServerConnection conn = client.getMBeanServerConnection();
            KnobMXBean knob = JMX.newMXBeanProxy(conn, MBeans.knobName(), KnobMXBean.class);
            TieredStoreContract.Rig rig = TieredStoreContract.rigOver(store, pool, tiered, device);
            rig.run(w, 0, 12, 0, null, step -> { });
            assertEquals(40L * rowBytes, knob.getBudgetBytes());
            long before = knob.getBytesUsed();
            long promotedBefore = knob.getPromotedRows();
            assertTrue(before > 0 && before <= 40L * rowBytes, "hot bytes within the first budget: " + before);

            knob.setBudget(Long.toString(400L * rowBytes));
            assertEquals(400L * rowBytes, knob.getBudgetBytes(), "the budget reads back at once");
            assertEquals(before, knob.getBytesUsed(), "nothing moves before the next evaluation");
            rig.run(w, 12, 24, 0, null, step -> { });
            long after = knob.getBytesUsed();
            assertTrue(after > 4 * before && after <= 400L * rowBytes, "hot bytes grew to the new budget: " + before
                    + " -> " + after);
            // Promotions are counted over every re-tiering: the last evaluation may have found
            // nothing left to move (its own figures are then zero), depending on when it ran.
            assertTrue(knob.getPromotedRows() - promotedBefore >= (after - before) / rowBytes,
                    "the re-tierings promoted at least the rows the hot bytes grew by: "
                            + (knob.getPromotedRows() - promotedBefore));
            long hot = 0;
            long hits = 0;
            for (int t = 0; t < TieredStoreContract.ROWS.length; t++) {
                TableMXBean table = JMX.newMXBeanProxy(conn, MBeans.tableName("t" + t), TableMXBean.class);
                hot += table.getHotRows();
                hits += table.getHotHits();
            }
            assertEquals(tiered.hotSet().totalHotRows(), hot, "Table beans show the hot rows");
            assertTrue(hits > 0, "Table beans show hot hits");
            Exception bad = assertThrows(Exception.class, () -> knob.setBudget("lots"));
            assertTrue(String.valueOf(bad.getMessage()).contains("Knob.Budget") || String.valueOf(bad.getCause()).contains("Knob.Budget"),
                    "a bad budget is refused with a message naming the attribute: " + bad);
        }
    }
}

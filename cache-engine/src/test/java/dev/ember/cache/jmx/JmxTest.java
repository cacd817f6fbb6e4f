package dev.ember.cache.jmx;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.management.JMX;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The store's MXBeans read back through a real RMI connector on 127.0.0.1. */
class JmxTest {
    @TempDir
    Path dir;


    @Test
    void attributesReadBackThroughAConnectorOnLoopback() throws Exception {
        TableSpec spec = new TableSpec("items", 10_000, 8, Optimizer.SGD);
        try (LoopbackJmxServer jmx = LoopbackJmxServer.start();
             JMXConnector connector = JMXConnectorFactory.connect(jmx.address())) {
            MBeanServerConnection conn = connector.getMBeanServerConnection();
            ObjectName tableName = new ObjectName("dev.ember:type=Table,name=items");
            ObjectName storeName = new ObjectName("dev.ember:type=Store");
            try (Store store = Store.create(dir, StoreConfig.builder().table(spec, 1000).headroom(2.0).build())) {
                ColdTable t = store.table("items");
                long[] ids = new long[300];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = i * 7L;
                }
                PooledBatch batch = new PooledBatch(300, 300).setOneHot(ids, 300);
                DedupedIds d = new DedupedIds().build(batch);
                ByteBuffer buf = ByteBuffer.allocateDirect(300 * t.bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
                t.gather(d, buf);
                t.apply(d, buf, 0.1f, 1e-8f);
                t.gather(d, buf);

                TableMXBean table = JMX.newMXBeanProxy(conn, tableName, TableMXBean.class);
                assertEquals("items", table.getName());
                assertEquals(300, table.getRowsStored());
                assertEquals(2000, table.getCapacity());
                assertEquals(1700, table.getHeadroom());
                assertEquals(2, table.getGathers());
                assertEquals(1, table.getApplies());
                assertEquals(600, table.getRowsRead());
                assertEquals(300, table.getRowsWritten());
                assertEquals(300, table.getRowsLogged());
                assertEquals(t.bytesOnDisk(), table.getBytesOnDisk());
                assertTrue(table.getBytesMapped() > 0);
                assertEquals(300L, conn.getAttribute(tableName, "RowsStored"));

                StoreMXBean s = JMX.newMXBeanProxy(conn, storeName, StoreMXBean.class);
                assertEquals(dir.toAbsolutePath().toString(), s.getDirectory());
                assertArrayEquals(new String[] {"items"}, s.getTables());
                assertTrue(s.isUndoLogEnabled());
                long logged = s.getUndoLogBytes();
                assertEquals(300L * (24 + t.bytesPerRow() + 8), logged);
                store.checkpoint(17, new long[0], Map.of());
                assertEquals(17, s.getLastCheckpointStep());
                assertEquals(1, s.getCheckpointEpoch());
                assertEquals(0, s.getUndoLogBytes());
                assertTrue(s.getLastCheckpointMillis() >= 0);
                assertTrue(s.getLastCheckpointBytes() > logged);
                assertEquals(0, table.getRowsLogged());
                assertTrue(conn.isRegistered(tableName));
            }
            assertFalse(conn.isRegistered(tableName), "table MXBean left registered after close");
            assertFalse(conn.isRegistered(storeName), "store MXBean left registered after close");
            assertEquals(List.of(), List.copyOf(conn.queryNames(new ObjectName("dev.ember:*"), null)));
        }
    }
}

package dev.ember.cache.jmx;

import javax.management.InstanceAlreadyExistsException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * Registers a store's MXBeans in the platform MBean server and removes them again. Names are
 * {@code dev.ember:type=Store} and {@code dev.ember:type=Table,name=<t>}; when a second store is
 * open in the same JVM its names also carry {@code store=<directory>}.
 */
public final class MBeans implements AutoCloseable {
    public static final String DOMAIN = "dev.ember";

    private final MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    private final List<ObjectName> registered = new ArrayList<>();
    private final String storeKey;

    public MBeans(String directory) {
        this.storeKey = ObjectName.quote(directory);
    }

    public static ObjectName storeName() {
        return name("type=Store");
    }

    public static ObjectName tableName(String table) {
        // Table names are [A-Za-z0-9_.-]: valid unquoted ObjectName values.
        return name("type=Table,name=" + table);
    }

    private static ObjectName name(String keys) {
        try {
            return new ObjectName(DOMAIN + ":" + keys);
        } catch (JMException e) {
            throw new IllegalArgumentException(e);
        }
    }

    public void registerStore(StoreMXBean bean) {
        register(bean, "type=Store");
    }

    public static ObjectName knobName() {
        return name("type=Knob");
    }

    public void registerKnob(KnobMXBean bean) {
        register(bean, "type=Knob");
    }

    public void registerTable(String table, TableMXBean bean) {
        register(bean, "type=Table,name=" + table);
    }

    private void register(Object bean, String keys) {
        try {
            ObjectName plain = name(keys);
            try {
                server.registerMBean(bean, plain);
                registered.add(plain);
            } catch (InstanceAlreadyExistsException e) {
                ObjectName qualified = name(keys + ",store=" + storeKey);
                server.registerMBean(bean, qualified);
                registered.add(qualified);
            }
        } catch (JMException e) {
            throw new IllegalStateException("could not register MXBean " + keys + ": " + e.getMessage(), e);
        }
    }

    public List<ObjectName> names() {
        return List.copyOf(registered);
    }

    @Override
    public void close() {
        for (ObjectName n : registered) {
            try {
                server.unregisterMBean(n);
            } catch (JMException ignored) {
                // already gone: nothing to undo
            }
        }
        registered.clear();
    }
}

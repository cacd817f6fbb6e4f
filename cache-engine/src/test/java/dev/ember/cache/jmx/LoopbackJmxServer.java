package dev.ember.cache.jmx;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.rmi.server.RMIServerSocketFactory;
import java.rmi.server.UnicastRemoteObject;
import java.util.HashMap;
import java.util.Map;
import javax.management.remote.JMXConnectorServer;
import javax.management.remote.JMXConnectorServerFactory;
import javax.management.remote.JMXServiceURL;
import javax.management.remote.rmi.RMIConnectorServer;

/**
 * A real JMX connector (RMI) for the platform MBean server, listening on 127.0.0.1 only, on a
 * free port: what tests use to read Ember's MXBeans the way a remote console would.
 */
public final class LoopbackJmxServer implements AutoCloseable {
    private final Registry registry;
    private final JMXConnectorServer server;

    private LoopbackJmxServer(Registry registry, JMXConnectorServer server) {
        this.registry = registry;
        this.server = server;
    }

    /** Binds RMI sockets to the loopback interface only. */
    private static final class LoopbackSockets implements RMIServerSocketFactory {
        @Override
        public ServerSocket createServerSocket(int port) throws IOException {
            return new ServerSocket(port, 0, InetAddress.getLoopbackAddress());
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof LoopbackSockets;
        }

        @Override
        public int hashCode() {
            return 1;
        }
    }

    public static LoopbackJmxServer start() throws IOException {
        System.setProperty("java.rmi.server.hostname", "127.0.0.1");
        LoopbackSockets sockets = new LoopbackSockets();
        int port;
        try (ServerSocket probe = new ServerSocket(0, 0, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        Registry registry = LocateRegistry.createRegistry(port, null, sockets);
        JMXServiceURL url = new JMXServiceURL("service:jmx:rmi://127.0.0.1/jndi/rmi://127.0.0.1:" + port + "/jmxrmi");
        Map<String, Object> env = new HashMap<>();
        env.put(RMIConnectorServer.RMI_SERVER_SOCKET_FACTORY_ATTRIBUTE, sockets);
        JMXConnectorServer server = JMXConnectorServerFactory.newJMXConnectorServer(url, env,
                ManagementFactory.getPlatformMBeanServer());
        try {
            server.start();
        } catch (IOException | RuntimeException e) {
            UnicastRemoteObject.unexportObject(registry, true);
            throw e;
        }
        return new LoopbackJmxServer(registry, server);
    }

    /** Where a client connects. */
    public JMXServiceURL address() {
        return server.getAddress();
    }

    @Override
    public void close() throws IOException {
        try {
            server.stop();
        } finally {
            UnicastRemoteObject.unexportObject(registry, true);
        }
    }
}

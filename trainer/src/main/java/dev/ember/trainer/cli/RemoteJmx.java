package dev.ember.trainer.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.rmi.NoSuchObjectException;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.rmi.server.RMIServerSocketFactory;
import java.rmi.server.UnicastRemoteObject;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.management.remote.JMXConnectorServer;
import javax.management.remote.JMXConnectorServerFactory;
import javax.management.remote.JMXServiceURL;
import javax.management.remote.rmi.RMIConnectorServer;

/**
 * Remote JMX, only when asked for ({@code --jmx-port}) and then only with password
 * authentication (the JDK's password file format: {@code <role> <password>} per line, readable by
 * its owner only, as the JDK's own agent demands). The RMI registry and the connector share the
 * one port and listen on one address ({@code --jmx-host}, loopback by default). Without it Ember
 * opens no socket: local tools attach to the process ({@code jconsole <pid>}, {@code ember inspect}).
 */
public final class RemoteJmx implements AutoCloseable {
    private static final Set<PosixFilePermission> NOT_OTHERS = EnumSet.of(PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);

    private final Registry registry;
    private final JMXConnectorServer server;

    private RemoteJmx(Registry registry, JMXConnectorServer server) {
        this.registry = registry;
        this.server = server;
    }

    /** Problems of these settings, one line each naming the option (none when valid or not asked for). */
    public static List<String> problems(Integer port, String host, Path passwordFile, Path accessFile) {
        List<String> bad = new ArrayList<>();
        if (port == null) {
            if (passwordFile != null || accessFile != null) {
                bad.add("--jmx-password-file and --jmx-access-file need --jmx-port (remote JMX is off without it)");
            }
            return bad;
        }
        if (port < 1 || port > 65535) {
            bad.add("--jmx-port must be in 1..65535, got " + port);
        }
        if (passwordFile == null) {
            bad.add("--jmx-port needs --jmx-password-file: remote JMX is only served with authentication");
        } else {
            checkPrivate("--jmx-password-file", passwordFile, bad);
        }
        if (accessFile != null && !Files.isReadable(accessFile)) {
            bad.add("--jmx-access-file: cannot read " + accessFile);
        }
        try {
            InetAddress.getByName(host);
        } catch (IOException e) {
            bad.add("--jmx-host: unknown address " + host);
        }
        return bad;
    }

    private static void checkPrivate(String option, Path file, List<String> bad) {
        if (!Files.isReadable(file)) {
            bad.add(option + ": cannot read " + file);
            return;
        }
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            perms.retainAll(NOT_OTHERS);
            if (!perms.isEmpty()) {
                bad.add(option + ": " + file + " is readable or writable by others (" + perms + "); chmod 600 it");
            }
        } catch (UnsupportedOperationException | IOException e) {
            bad.add(option + ": cannot check who may read " + file + ": " + e.getMessage());
        }
    }

    /** Starts the registry and the authenticated connector; validate with {@link #problems} first. */
    public static RemoteJmx start(String host, int port, Path passwordFile, Path accessFile) throws IOException {
        InetAddress address = InetAddress.getByName(host);
        RMIServerSocketFactory sockets = new BoundSockets(address);
        System.setProperty("java.rmi.server.hostname", address.getHostAddress()); // stubs name the address served
        Registry registry = LocateRegistry.createRegistry(port, null, sockets);
        try {
            String h = address.getHostAddress().contains(":") ? "[" + address.getHostAddress() + "]" : address.getHostAddress();
            JMXServiceURL url = new JMXServiceURL("service:jmx:rmi://" + h + ":" + port + "/jndi/rmi://" + h + ":" + port + "/jmxrmi");
            Map<String, Object> env = new HashMap<>();
            env.put(RMIConnectorServer.RMI_SERVER_SOCKET_FACTORY_ATTRIBUTE, sockets);
            env.put("jmx.remote.x.password.file", passwordFile.toAbsolutePath().toString());
            if (accessFile != null) {
                env.put("jmx.remote.x.access.file", accessFile.toAbsolutePath().toString());
            }
            JMXConnectorServer server = JMXConnectorServerFactory.newJMXConnectorServer(url, env,
                    ManagementFactory.getPlatformMBeanServer());
            server.start();
            return new RemoteJmx(registry, server);
        } catch (IOException | RuntimeException e) {
            UnicastRemoteObject.unexportObject(registry, true);
            throw e;
        }
    }

    public JMXServiceURL address() {
        return server.getAddress();
    }

    @Override
    public void close() throws IOException {
        try {
            server.stop();
        } finally {
            try {
                UnicastRemoteObject.unexportObject(registry, true);
            } catch (NoSuchObjectException ignored) {
                // already gone
            }
        }
    }

    /** Server sockets on one address only (RMI's default listens on every interface). */
    private record BoundSockets(InetAddress address) implements RMIServerSocketFactory {
        @Override
        public ServerSocket createServerSocket(int port) throws IOException {
            return new ServerSocket(port, 50, address);
        }
    }
}

package dev.ember.trainer.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Remote JMX is served only when asked for, and then only to a client with the password: no
 * credentials and a wrong password are refused; a password file others can read is refused at
 * start, as is a port without a password file (one line, exit code 2).
 */
class RemoteJmxTest {
    @TempDir
    Path dir;

    private Path passwords(String perms) throws Exception {
        Path f = dir.resolve("jmx-" + perms + ".password");
        Files.writeString(f, "monitor s3cret\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(perms));
        return f;
    }

    @Test
    void onlyAClientWithThePasswordReadsTheMBeans() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 0, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        Path pw = passwords("rw-------");
        assertEquals(List.of(), RemoteJmx.problems(port, "127.0.0.1", pw, null));
        try (RemoteJmx jmx = RemoteJmx.start("127.0.0.1", port, pw, null)) {
            try (JMXConnector c = JMXConnectorFactory.connect(jmx.address(),
                    Map.of(JMXConnector.CREDENTIALS, new String[] {"monitor", "s3cret"}))) {
                MBeanServerConnection conn = c.getMBeanServerConnection();
                assertEquals(ManagementFactory.getRuntimeMXBean().getName(),
                        conn.getAttribute(new ObjectName("java.lang:type=Runtime"), "Name"));
            }
            assertThrows(SecurityException.class, () -> JMXConnectorFactory.connect(jmx.address()).close(), "no credentials");
            assertThrows(SecurityException.class, () -> JMXConnectorFactory.connect(jmx.address(),
                    Map.of(JMXConnector.CREDENTIALS, new String[] {"monitor", "guess"})).close(), "a wrong password");
        }
    }

    @Test
    void aPortWithoutAPrivatePasswordFileIsRefusedAtStart() throws Exception {
        assertTrue(RemoteJmx.problems(null, "127.0.0.1", null, null).isEmpty(), "off by default");
        assertTrue(RemoteJmx.problems(9010, "127.0.0.1", null, null).get(0).contains("--jmx-password-file"));
        assertTrue(RemoteJmx.problems(9010, "127.0.0.1", passwords("rw-r--r--"), null).get(0).contains("chmod 600"));
        assertTrue(RemoteJmx.problems(70000, "127.0.0.1", passwords("r--------"), null).get(0).contains("--jmx-port"));
        CommandLine cli = EmberCli.commandLine();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(new StringWriter()));
        cli.setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("train", "--jmx-port", "9010", "--run-dir", dir.toString(), "--no-progress"), err.toString());
        assertEquals(1, err.toString().strip().split("\n").length, err.toString());
        assertTrue(err.toString().contains("--jmx-port needs --jmx-password-file"), err.toString());
    }
}

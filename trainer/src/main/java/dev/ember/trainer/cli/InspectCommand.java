package dev.ember.trainer.cli;

import com.sun.tools.attach.VirtualMachine;
import java.io.PrintWriter;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Prints the {@code dev.ember} MXBeans (store, tables, knob, trainer) of a running Ember JVM.
 * Attaches through the JDK attach API and the target's local management agent, so nothing
 * listens on a network port.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Print the store, table, knob and trainer beans of a running Ember process.")
public final class InspectCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PID", description = "Process id of a running ember JVM.")
    long pid;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        VirtualMachine vm;
        try {
            vm = VirtualMachine.attach(Long.toString(pid));
        } catch (Exception e) {
            err.println("ember inspect: cannot attach to pid " + pid + ": " + e.getMessage()
                    + " (is it a JVM of the same user?)");
            return EmberCli.EXIT_USAGE;
        }
        try {
            String address = vm.startLocalManagementAgent();
            try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(address))) {
                int beans = print(connector.getMBeanServerConnection(), out);
                out.flush();
                if (beans == 0) {
                    err.println("ember inspect: pid " + pid + " has no dev.ember beans (no store open?)");
                    return 1;
                }
                return 0;
            }
        } finally {
            vm.detach();
        }
    }

    /** Prints every {@code dev.ember:*} bean, sorted by name; returns how many. */
    static int print(MBeanServerConnection server, PrintWriter out) throws Exception {
        Set<ObjectName> names = new TreeSet<>(server.queryNames(new ObjectName("dev.ember:*"), null));
        for (ObjectName name : names) {
            out.println(name);
            for (MBeanAttributeInfo attribute : server.getMBeanInfo(name).getAttributes()) {
                Object value;
                try {
                    value = server.getAttribute(name, attribute.getName());
                } catch (Exception e) {
                    value = "<" + e.getClass().getSimpleName() + ">";
                }
                out.printf("  %-28s %s%n", attribute.getName(), format(value));
            }
        }
        return names.size();
    }

    private static String format(Object value) {
        if (value instanceof CompositeData) {
            CompositeData data = (CompositeData) value;
            StringBuilder s = new StringBuilder("{");
            for (String key : new TreeSet<>(data.getCompositeType().keySet())) {
                s.append(s.length() > 1 ? ", " : "").append(key).append('=').append(data.get(key));
            }
            return s.append('}').toString();
        }
        if (value instanceof Object[]) {
            return java.util.Arrays.toString((Object[]) value);
        }
        if (value instanceof long[]) {
            return java.util.Arrays.toString((long[]) value);
        }
        return String.valueOf(value);
    }
}

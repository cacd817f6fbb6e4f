package dev.ember.cache.testing;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Starts a real second JVM on the test class path with Ember's JVM flags (etc/jvm.options). */
public final class ChildJvm {
    private ChildJvm() {
    }

    public static Process start(Class<?> main, String... args) throws IOException {
        return start(List.of("@" + Path.of(root(), "etc", "jvm.options")), main, args);
    }

    /** The flags of etc/jvm.options, one an entry, for a child that needs a variation of them. */
    public static List<String> jvmOptions() throws IOException {
        List<String> flags = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(root(), "etc", "jvm.options"))) {
            if (!line.isBlank() && !line.startsWith("#")) {
                flags.add(line.strip());
            }
        }
        return flags;
    }

    /** Starts {@code main} with exactly these JVM flags (plus a small heap and the test class path). */
    public static Process start(List<String> flags, Class<?> main, String... args) throws IOException {
        String root = root();
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(flags);
        cmd.add("-Xmx256m");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.PIPE)
                .directory(new File(root)).start();
    }

    private static String root() {
        String root = System.getProperty("ember.root");
        if (root == null) {
            throw new IllegalStateException("system property ember.root is not set (surefire sets it)");
        }
        return root;
    }
}

package dev.ember.cache.testing;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Starts a real second JVM on the test class path with Ember's JVM flags (etc/jvm.options). */
public final class ChildJvm {
    private ChildJvm() {
    }

    public static Process start(Class<?> main, String... args) throws IOException {
        String root = System.getProperty("ember.root");
        if (root == null) {
            throw new IllegalStateException("system property ember.root is not set (surefire sets it)");
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("@" + Path.of(root, "etc", "jvm.options"));
        cmd.add("-Xmx256m");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.PIPE)
                .directory(new File(root)).start();
    }
}

package dev.ember.cache.cold;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.testing.ChildJvm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A host JVM started without etc/jvm.options' Chronicle switches still never lets Chronicle call out. */
class NoCallsOutTest {
    @TempDir
    Path dir;

    @Test
    void aStoreOpenedInAJvmWithoutTheSwitchesTurnsAnalyticsOff() throws Exception {
        List<String> flags = ChildJvm.jvmOptions().stream()
                .filter(f -> !f.startsWith("-Dchronicle.")).collect(Collectors.toList());
        Process child = ChildJvm.start(flags, Child.class, dir.resolve("store").toString());
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child finished");
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, child.exitValue(), out);
        assertTrue(out.contains("before=null"), "the child started without the switch: " + out);
        assertTrue(out.contains("analytics=true announcer=true"), "the store turned both off: " + out);
    }

    /** Opens a store (Chronicle's classes initialise here) and prints the switches. */
    public static final class Child {
        public static void main(String[] args) {
            String before = System.getProperty("chronicle.analytics.disable");
            try (Store store = Store.create(Path.of(args[0]), StoreConfig.builder()
                    .table(new TableSpec("t", 100, 4, Optimizer.SGD)).jmx(false).build())) {
                System.out.println("before=" + before + " analytics=" + System.getProperty("chronicle.analytics.disable")
                        + " announcer=" + System.getProperty("chronicle.announcer.disable") + " tables="
                        + store.tables().size());
            }
        }
    }
}

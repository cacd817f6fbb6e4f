package dev.ember.cache.testing;

import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.store.StoreException;

import java.nio.file.Path;

/**
 * A second process for lock tests. {@code hold <dir>}: opens the store, prints {@code HELD <pid>},
 * keeps it until stdin closes. {@code try <dir>}: tries to open it, prints {@code REFUSED <message>}
 * (exit 3) or {@code OPENED} (exit 0).
 */
public final class HoldStore {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        StoreConfig config = StoreConfig.builder().jmx(false).build();
        if (args[0].equals("hold")) {
            try (Store s = Store.open(dir, config)) {
                System.out.println("HELD " + ProcessHandle.current().pid());
                System.out.flush();
                while (System.in.read() >= 0) {
                    // wait for the test to close our stdin
                }
            }
            return;
        }
        try (Store s = Store.open(dir, config)) {
            System.out.println("OPENED");
        } catch (StoreException e) {
            System.out.println("REFUSED " + e.getMessage());
            System.out.flush();
            System.exit(3);
        }
    }
}

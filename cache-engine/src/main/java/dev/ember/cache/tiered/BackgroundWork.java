package dev.ember.cache.tiered;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/** Waiting for cold-tier work a background thread does for the step thread (write-backs, moves). */
final class BackgroundWork {
    private BackgroundWork() {
    }

    /**
     * Waits for {@code f}; its failure is rethrown as it was (a full disk, say, named by the cold
     * tier), or wrapped saying {@code what} failed when it is not a runtime exception.
     */
    static void await(Future<?> f, String what) {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + what, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(what + " failed: " + e.getCause(), e.getCause());
        }
    }
}

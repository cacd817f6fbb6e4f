package dev.ember.trainer.cli;

import dev.ember.cache.durability.Manifest;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreException;
import dev.ember.cache.store.StoreLock;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/** {@code ember store info|grow}: inspect a cold-tier store, or grow one of its tables offline. */
@Command(name = "store", description = "Inspect or grow a cold-tier store.",
        subcommands = {StoreCommand.Info.class, StoreCommand.Grow.class})
public final class StoreCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Reads the manifest only: safe while a trainer has the store open. */
    @Command(name = "info", description = "Tables, rows stored, bytes, headroom and the last checkpoint of a store.")
    static final class Info implements java.util.concurrent.Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "<dir>", description = "the store directory")
        Path dir;

        @Option(names = "--digest", description = "also print SHA-256 digests of the model at the last checkpoint: every "
                + "row of every table, and the MLP weights (opens the store: not beside a running trainer)")
        boolean digest;

        @Override
        public Integer call() throws IOException {
            PrintWriter out = spec.commandLine().getOut();
            Manifest m;
            try {
                m = Store.readManifest(dir);
            } catch (StoreException e) {
                spec.commandLine().getErr().println("ember store info: " + e.getMessage());
                return EmberCli.EXIT_USAGE;
            }
            out.printf("store %s%n", dir.toAbsolutePath());
            out.printf("last checkpoint: step %d, %s (checkpoint #%d), seed %d%n", m.step(),
                    Instant.ofEpochMilli(m.timeMillis()), m.epoch(), m.seed());
            Path marker = dir.resolve(Store.OPEN_MARKER);
            if (Files.exists(marker)) {
                out.printf("writer: %s (or a crashed one: the next open recovers)%n",
                        Files.readString(marker).trim() + ", lock holder " + StoreLock.holder(dir.resolve(StoreLock.FILE)));
            } else {
                out.println("writer: none (closed cleanly)");
            }
            Path undo = dir.resolve(Store.UNDO_LOG);
            out.printf("undo log: %d bytes%n", Files.exists(undo) ? Files.size(undo) : 0);
            if (!m.blobs().isEmpty()) {
                StringBuilder b = new StringBuilder();
                m.blobs().forEach((k, v) -> b.append(b.length() == 0 ? "" : ", ").append(k).append(" ").append(v.length).append(" B"));
                out.printf("blobs: %s%n", b);
            }
            out.printf("%-20s %12s %5s %-16s %12s %12s %12s %14s%n",
                    "table", "ids", "dim", "optimizer", "rows stored", "capacity", "headroom", "file bytes");
            for (Manifest.TableState t : m.tables()) {
                Path file = dir.resolve(t.spec().name() + Store.MAP_SUFFIX);
                out.printf("%-20s %12d %5d %-16s %12d %12d %12d %14d%n", t.spec().name(), t.spec().rows(), t.spec().dim(),
                        t.spec().optimizer(), t.rowsStored(), t.capacity(), t.capacity() - t.rowsStored(),
                        Files.exists(file) ? Files.size(file) : -1);
            }
            out.println("(rows stored as of the last checkpoint)");
            if (digest) {
                try (Store s = Store.open(dir, dev.ember.cache.store.StoreConfig.builder().jmx(false).build())) {
                    dev.ember.trainer.train.ModelDigest d = dev.ember.trainer.train.ModelDigest.of(s);
                    out.printf("digest at step %d: rows %s weights %s%n", d.step(), d.rows(), d.weights());
                } catch (StoreException e) {
                    out.flush();
                    spec.commandLine().getErr().println("ember store info: " + e.getMessage());
                    return 1;
                }
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "grow", description = "Rebuild a table with a larger capacity without losing a row"
            + " (built beside the old file, then swapped; needs the store closed).")
    static final class Grow implements java.util.concurrent.Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "<dir>", description = "the store directory")
        Path dir;

        @Option(names = "--table", required = true, description = "the table to grow")
        String table;

        @Option(names = "--rows", required = true, description = "the new capacity in rows")
        long rows;

        @Override
        public Integer call() {
            try {
                Manifest.TableState old = Store.readManifest(dir).table(table);
                if (old == null) {
                    throw new StoreException("store " + dir + " has no table " + table + " (--table)");
                }
                long before = old.capacity();
                Store.grow(dir, table, rows);
                spec.commandLine().getOut().printf("table %s: capacity %d -> %d rows%n", table, before, rows);
                spec.commandLine().getOut().flush();
                return 0;
            } catch (StoreException e) {
                spec.commandLine().getErr().println("ember store grow: " + e.getMessage());
                return EmberCli.EXIT_USAGE;
            }
        }
    }
}

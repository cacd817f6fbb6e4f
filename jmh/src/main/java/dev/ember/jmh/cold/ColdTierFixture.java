package dev.ember.jmh.cold;

import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * A store of the 26 Criteo-shaped tables with every row stored (a trained state) or none (a new
 * store), and the same rows in plain off-heap arrays (the raw baseline). Built once per trial in a temporary directory.
 */
final class ColdTierFixture implements AutoCloseable {
    final Path dir;
    final Store store;
    final ColdTable[] tables;
    /** Raw baseline: table t's row r at bytes [r*bytesPerRow, (r+1)*bytesPerRow). */
    final ByteBuffer[] raw;

    ColdTierFixture(CriteoBatches shape, int dim, int threads, boolean undoLog, boolean syncUndoLog) {
        this(shape, dim, threads, undoLog, syncUndoLog, true);
    }

    /** As above; with {@code stored} false the tables are left empty (a new store: every row still absent). */
    ColdTierFixture(CriteoBatches shape, int dim, int threads, boolean undoLog, boolean syncUndoLog, boolean stored) {
        try {
            dir = Files.createTempDirectory("ember-jmh-cold");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<TableSpec> specs = new ArrayList<>();
        for (int t = 0; t < shape.tables(); t++) {
            specs.add(new TableSpec("C" + (t + 1), shape.rows[t], dim, Optimizer.SGD));
        }
        raw = new ByteBuffer[specs.size()];
        SplittableRandom rnd = new SplittableRandom(42);
        // Fill without pre-images (a fresh store), checkpoint, then reopen as the benchmark wants it.
        try (Store fill = Store.create(dir, StoreConfig.builder().tables(specs).undoLog(false).jmx(false)
                .threads(threads).build())) {
            int chunk = 8192;
            long[] ids = new long[chunk];
            for (int t = 0; t < specs.size(); t++) {
                ColdTable table = fill.table(specs.get(t).name());
                int bpr = table.bytesPerRow();
                long rows = specs.get(t).rows();
                raw[t] = ByteBuffer.allocateDirect(Math.toIntExact(rows * bpr)).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < rows * bpr; i += 4) {
                    raw[t].putFloat(i, (float) (rnd.nextDouble() - 0.5));
                }
                for (long start = 0; stored && start < rows; start += chunk) {
                    int n = (int) Math.min(chunk, rows - start);
                    for (int i = 0; i < n; i++) {
                        ids[i] = start + i;
                    }
                    table.put(ids, n, raw[t].slice((int) (start * bpr), n * bpr).order(ByteOrder.LITTLE_ENDIAN));
                }
            }
            fill.checkpoint(0, new long[0], Map.of());
        }
        store = Store.open(dir, StoreConfig.builder().tables(specs).undoLog(undoLog).syncUndoLog(syncUndoLog)
                .jmx(false).threads(threads).build());
        tables = new ColdTable[specs.size()];
        for (int t = 0; t < specs.size(); t++) {
            tables[t] = store.table(specs.get(t).name());
        }
    }

    @Override
    public void close() {
        store.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

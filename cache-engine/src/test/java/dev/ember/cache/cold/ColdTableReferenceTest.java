package dev.ember.cache.cold;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.testing.ReferenceTables;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Random sequences of gathers (the table's and a reader's), applies and whole-row puts (whole, or in parts by several threads; multi-hot bags, duplicate ids, all three optimizers)
 * against the HashMap fp32 reference, bit for bit, across checkpoints, reopens and rollbacks.
 */
class ColdTableReferenceTest {
    private static final List<TableSpec> SPECS = List.of(
            new TableSpec("sgd", 3000, 4, Optimizer.SGD),
            new TableSpec("rowwise", 2000, 8, Optimizer.ROWWISE_ADAGRAD),
            new TableSpec("adagrad", 1000, 16, Optimizer.ADAGRAD));
    private static final long SEED = 20261126L;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "threads={0} positionIndex={1}")
    @CsvSource({"1, true", "3, true", "3, false"})
    void randomGathersAndAppliesMatchTheReferenceBitForBit(int threads, boolean positionIndex) {
        SplittableRandom rnd = new SplittableRandom(threads * 7919L + (positionIndex ? 1 : 0));
        ReferenceTables ref = new ReferenceTables(SPECS, SEED);
        ReferenceTables atCheckpoint = ref.copy();
        StoreConfig config = StoreConfig.builder().seed(SEED).tables(SPECS).threads(threads)
                .positionIndex(positionIndex).jmx(false).build();
        Store store = Store.create(dir, config);
        PooledBatch batch = new PooledBatch(4096, 1024);
        DedupedIds dedup = new DedupedIds();
        ByteBuffer out = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer grads = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        try {
            for (int op = 0; op < 100; op++) {
                TableSpec spec = SPECS.get(rnd.nextInt(SPECS.size()));
                ColdTable table = store.table(spec.name());
                fillBatch(rnd, batch, spec.rows());
                dedup.build(batch);
                int kind = rnd.nextInt(11);
                if (kind == 10) {
                    // Whole rows handed back (the hot tier's demotion path): distinct ids.
                    int n = dedup.uniqueCount();
                    int floats = table.bytesPerRow() / 4;
                    float[] row = new float[floats];
                    for (int u = 0; u < n; u++) {
                        for (int c = 0; c < floats; c++) {
                            row[c] = (float) rnd.nextGaussian();
                            out.putFloat((u * floats + c) * 4, row[c]);
                        }
                        ref.put(spec.name(), dedup.unique()[u], row);
                    }
                    if (rnd.nextBoolean()) {
                        table.put(dedup.unique(), n, out);
                    } else {
                        putInParts(table, dedup.unique(), n, out, 1 + rnd.nextInt(40));
                    }
                    assertEquals(ref.stored(spec.name()), table.rowsStored(), "rows stored after put, op " + op);
                } else if (kind < 2) {
                    table.gather(dedup, out);
                    assertRows(ref, table, dedup.unique(), dedup.uniqueCount(), out, "op " + op);
                } else if (kind < 4) {
                    // The tiered store's prefetch and mover read through a Reader (position index or Chronicle).
                    table.newReader().gather(dedup.unique(), dedup.uniqueCount(), out);
                    assertRows(ref, table, dedup.unique(), dedup.uniqueCount(), out, "reader, op " + op);
                } else if (kind < 9) {
                    for (int i = 0; i < batch.bagCount() * spec.dim(); i++) {
                        grads.putFloat(4 * i, (float) (rnd.nextDouble() * 2 - 1) * (rnd.nextInt(4) == 0 ? 100f : 0.01f));
                    }
                    float lr = 0.05f + rnd.nextInt(10) * 0.01f;
                    table.apply(dedup, grads, lr, 1e-8f);
                    ref.apply(spec.name(), batch, grads, lr, 1e-8f);
                    assertEquals(ref.stored(spec.name()), table.rowsStored(), "rows stored, op " + op);
                } else if (rnd.nextBoolean()) {
                    store.checkpoint(op, new long[] {op}, Map.of("b", new byte[] {(byte) op}));
                    atCheckpoint = ref.copy();
                    store.close();
                    store = Store.open(dir, config);
                    assertAll(ref, store, out);
                } else {
                    // Close without a checkpoint: the reopened store is the last checkpoint.
                    store.close();
                    store = Store.open(dir, config);
                    ref = atCheckpoint.copy();
                    assertAll(ref, store, out);
                }
            }
            assertAll(ref, store, out);
            if (positionIndex) {
                // Most writes of known rows went around Chronicle: the checks above and the checksums cover that path.
                long inPlace = 0;
                for (ColdTable t : store.tables()) {
                    inPlace += t.counters().rowsInPlace();
                }
                assertTrue(inPlace > 0, "no row was written in place since the last reopen");
            }
        } finally {
            store.close();
        }
    }

    /**
     * The tiered store's write-back: one prepare, then parts of {@code part} rows written by three
     * threads at once, each part through a writer of its own.
     */
    static void putInParts(ColdTable table, long[] ids, int n, ByteBuffer rows, int part) {
        table.preparePut(ids, n);
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
        Thread[] threads = new Thread[3];
        for (int i = 0; i < threads.length; i++) {
            threads[i] = new Thread(() -> {
                try {
                    for (int from = next.getAndAdd(part); from < n; from = next.getAndAdd(part)) {
                        ColdTable.Writer w = table.newWriter();
                        try {
                            w.put(ids, from, Math.min(n, from + part), rows);
                        } finally {
                            w.release();
                        }
                    }
                } catch (Throwable t) {
                    failed.compareAndSet(null, t);
                }
            });
            threads[i].start();
        }
        try {
            for (Thread t : threads) {
                t.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        if (failed.get() != null) {
            throw new AssertionError("a part failed", failed.get());
        }
    }

    static void fillBatch(SplittableRandom rnd, PooledBatch batch, long rows) {
        batch.clear();
        int bags = 100 + rnd.nextInt(300);
        // Skewed ids: many repeats across and within bags.
        long hotRange = Math.max(1, rows / 20);
        for (int b = 0; b < bags; b++) {
            int n = rnd.nextInt(4); // empty bags too
            for (int i = 0; i < n; i++) {
                batch.add(rnd.nextInt(3) == 0 ? rnd.nextLong(rows) : rnd.nextLong(hotRange));
            }
            batch.endBag();
        }
    }

    static void assertAll(ReferenceTables ref, Store store, ByteBuffer out) {
        for (ColdTable t : store.tables()) {
            long rows = t.spec().rows();
            long[] ids = new long[(int) rows];
            for (int i = 0; i < rows; i++) {
                ids[i] = i;
            }
            t.gather(ids, ids.length, out);
            assertRows(ref, t, ids, ids.length, out, "all rows");
            assertEquals(ref.stored(t.name()), t.rowsStored(), t.name() + " rows stored");
            InPlaceRowsTest.assertChecksumsHold(t.map(), t.name()); // rows written in place seal them themselves
        }
    }

    static void assertRows(ReferenceTables ref, ColdTable table, long[] ids, int n, ByteBuffer out, String where) {
        int floats = table.bytesPerRow() / 4;
        for (int u = 0; u < n; u++) {
            float[] want = ref.row(table.name(), ids[u]);
            for (int c = 0; c < floats; c++) {
                int got = out.getInt((u * floats + c) * 4);
                if (got != Float.floatToRawIntBits(want[c])) {
                    fail(where + ": table " + table.name() + " row " + ids[u] + " column " + c + ": got "
                            + Float.intBitsToFloat(got) + ", reference " + want[c]);
                }
            }
        }
    }
}

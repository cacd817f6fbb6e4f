package dev.ember.gpu.pool;

import dev.ember.gpu.OnDeviceContract;
import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.hot.HotBatch;
import dev.ember.cache.hot.MoveMark;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.RowInit;
import dev.ember.cache.table.RowLayout;
import dev.ember.cache.table.TableSpec;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceMemoryException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;


import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hot tier's contract, run against every backend (JCTools' habit: one abstract suite, a
 * subclass per device). Results must equal {@link ReferenceTier} bit for bit; gathers and SGD
 * steps also stay within the classic bound {@code (n + 1) u sum|x|} of a float64 computation.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class HotTierContract extends OnDeviceContract {
    private static final float U = 0x1p-24f;

    /** The pool under test (a subclass may pick how many threads map rows during moves). */
    protected SlotPool newPool(Device device, RowLayout layout, long budgetBytes) {
        return new SlotPool(device, layout, budgetBytes);
    }

    // ---------------------------------------------------------------- fixtures

    private final class Fixture implements AutoCloseable {
        final SlotPool pool;
        final ReferenceTier ref;
        final TableSpec spec;
        final int table;
        final long[] hot;
        final Random rnd;

        Fixture(Device device, RowLayout layout, long budgetSlots, int hotRows, long seed) {
            rnd = new Random(seed);
            spec = new TableSpec("t", 100_000, layout.dim(), layout.optimizer());
            pool = newPool(device, layout, budgetSlots * (layout.bytesPerRow() + 1L));
            ref = new ReferenceTier(layout);
            table = pool.addTable(spec);
            Set<Long> ids = new LinkedHashSet<>();
            while (ids.size() < hotRows) {
                ids.add((long) rnd.nextInt((int) spec.rows()));
            }
            hot = ids.stream().mapToLong(Long::longValue).toArray();
            for (long id : hot) {
                ref.put(id, randomRow(layout, rnd));
            }
            pool.promote(table, hot, hot.length, ref.pack(hot, hot.length));
        }

        /** Bags of 0..maxBag ids drawn with skew from the hot rows, so ids repeat within and across bags. */
        PooledBatch batch(int bags, int maxBag) {
            PooledBatch b = new PooledBatch(bags * maxBag, bags);
            for (int i = 0; i < bags; i++) {
                int n = rnd.nextInt(maxBag + 1);
                for (int j = 0; j < n; j++) {
                    double x = rnd.nextDouble();
                    b.add(hot[(int) (x * x * x * hot.length)]);
                }
                b.endBag();
            }
            return b;
        }

        @Override
        public void close() {
            pool.close();
        }
    }

    static float[] randomRow(RowLayout layout, Random rnd) {
        float[] r = new float[layout.floatsPerRow()];
        for (int c = 0; c < layout.dim(); c++) {
            r[c] = (float) (rnd.nextGaussian() * 0.5);
        }
        for (int c = layout.dim(); c < r.length; c++) {
            r[c] = rnd.nextFloat();
        }
        return r;
    }

    static float[] randomGrads(int bags, int dim, Random rnd) {
        float[] g = new float[bags * dim];
        for (int i = 0; i < g.length; i++) {
            g[i] = (float) (rnd.nextGaussian() * 0.1);
        }
        return g;
    }

    private static void assertBits(float[] expected, float[] actual, int n, String what) {
        for (int i = 0; i < n; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                throw new AssertionError(what + ": element " + i + " differs: expected " + expected[i] + " ("
                        + Integer.toHexString(Float.floatToRawIntBits(expected[i])) + "), got " + actual[i] + " ("
                        + Integer.toHexString(Float.floatToRawIntBits(actual[i])) + ")");
            }
        }
    }

    private static void assertRowsEqual(Fixture f, long[] ids, int count) {
        ByteBuffer out = ByteBuffer.allocateDirect(count * f.spec.layout().bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
        f.pool.read(f.table, ids, count, out, null);
        for (int i = 0; i < count; i++) {
            assertBits(f.ref.rows.get(ids[i]), ReferenceTier.unpack(out, i, f.spec.layout()),
                    f.spec.layout().floatsPerRow(), "row " + ids[i]);
        }
    }

    // ---------------------------------------------------------------- gather

    @ParameterizedTest(name = "dim {0}")
    @ValueSource(ints = {16, 7, 64})
    void pooledGatherMatchesReferenceBitForBit(int dim) {
        try (Fixture f = new Fixture(device, RowLayout.of(dim, Optimizer.SGD), 2048, 500, 11 + dim);
             HotBatch out = f.pool.newBatch(256, 256 * 8)) {
            for (int round = 0; round < 3; round++) {
                PooledBatch b = f.batch(256, 8);
                f.pool.gather(f.table, b, out);
                float[] got = new float[256 * dim];
                out.readPooled(got, b.bagCount());
                assertBits(f.ref.gather(b), got, b.bagCount() * dim, "gather round " + round);
            }
        }
    }

    @Test
    void pooledGatherStaysWithinFloat64BoundThatGrowsWithTerms() {
        int dim = 16;
        try (Fixture f = new Fixture(device, RowLayout.of(dim, Optimizer.SGD), 1024, 400, 5);
             HotBatch out = f.pool.newBatch(64, 64 * 200)) {
            PooledBatch b = f.batch(64, 200);
            f.pool.gather(f.table, b, out);
            float[] got = new float[64 * dim];
            out.readPooled(got, 64);
            for (int bag = 0; bag < 64; bag++) {
                int n = b.offsets()[bag + 1] - b.offsets()[bag];
                for (int c = 0; c < dim; c++) {
                    double exact = 0;
                    double abs = 0;
                    for (int i = b.offsets()[bag]; i < b.offsets()[bag + 1]; i++) {
                        float x = f.ref.rows.get(b.id(i))[c];
                        exact += x;
                        abs += Math.abs(x);
                    }
                    double bound = (n + 1) * (double) U * abs;
                    double err = Math.abs(got[bag * dim + c] - exact);
                    assertTrue(err <= bound, "bag " + bag + " (" + n + " terms) col " + c + ": error " + err + " > " + bound);
                }
            }
        }
    }

    @Test
    void emptyBagsPoolToZerosAndAnEmptyBatchIsFine() {
        try (Fixture f = new Fixture(device, RowLayout.of(8, Optimizer.SGD), 64, 10, 3);
             HotBatch out = f.pool.newBatch(4, 8)) {
            PooledBatch b = new PooledBatch(8, 4);
            b.endBag().add(f.hot[0]).endBag().endBag();
            f.pool.gather(f.table, b, out);
            float[] got = new float[4 * 8];
            out.readPooled(got, 3);
            float[] want = f.ref.gather(b);
            assertBits(want, got, 24, "gather with empty bags");
            f.pool.gather(f.table, new PooledBatch(1, 1), out);
            f.pool.sync();
        }
    }

    @Test
    void duplicatesWithinAndAcrossBagsAreSummedInOrder() {
        int dim = 12;
        try (Fixture f = new Fixture(device, RowLayout.of(dim, Optimizer.SGD), 64, 4, 8);
             HotBatch out = f.pool.newBatch(3, 12)) {
            long a = f.hot[0];
            long b = f.hot[1];
            PooledBatch batch = new PooledBatch(12, 3);
            batch.add(a).add(a).add(b).add(a).endBag().add(b).endBag().add(a).add(b).add(b).endBag();
            f.pool.gather(f.table, batch, out);
            float[] got = new float[3 * dim];
            out.readPooled(got, 3);
            assertBits(f.ref.gather(batch), got, 3 * dim, "gather with duplicates");
            DedupedIds d = new DedupedIds().build(batch);
            float[] g = randomGrads(3, dim, f.rnd);
            out.writeGradients(g, 3);
            f.pool.apply(f.table, d, out, 0.05f, 1e-8f);
            f.ref.apply(d, g, 0.05f, 1e-8f);
            assertRowsEqual(f, new long[] {a, b}, 2);
        }
    }

    // ---------------------------------------------------------------- apply

    @ParameterizedTest(name = "{0}")
    @EnumSource(Optimizer.class)
    void applyMatchesReferenceBitForBitWithEachOptimizer(Optimizer opt) {
        for (int dim : new int[] {16, 5}) {
            try (Fixture f = new Fixture(device, RowLayout.of(dim, opt), 1024, 300, 21 + dim);
                 HotBatch buf = f.pool.newBatch(128, 128 * 6)) {
                DedupedIds d = new DedupedIds();
                for (int step = 0; step < 4; step++) {
                    PooledBatch b = f.batch(128, 6);
                    f.pool.gather(f.table, b, buf);
                    float[] got = new float[128 * dim];
                    buf.readPooled(got, b.bagCount());
                    assertBits(f.ref.gather(b), got, b.bagCount() * dim, opt + " dim " + dim + " step " + step + " gather");
                    d.build(b);
                    float[] g = randomGrads(b.bagCount(), dim, f.rnd);
                    buf.writeGradients(g, b.bagCount());
                    f.pool.apply(f.table, d, buf, 0.1f, 1e-6f);
                    f.ref.apply(d, g, 0.1f, 1e-6f);
                }
                assertRowsEqual(f, f.hot, f.hot.length);
            }
        }
    }

    /** Rows of a tiny table occur in hundreds of bags: the device sums them in batches of loads, in the same order. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Optimizer.class)
    void applyOfRowsInHundredsOfBagsMatchesReferenceBitForBit(Optimizer opt) {
        int dim = 16;
        try (Fixture f = new Fixture(device, RowLayout.of(dim, opt), 64, 4, 77);
             HotBatch buf = f.pool.newBatch(1000, 1000)) {
            PooledBatch b = new PooledBatch(1000, 1000);
            for (int i = 0; i < 1000; i++) {
                b.add(f.hot[f.rnd.nextInt(f.hot.length)]).endBag();
            }
            DedupedIds d = new DedupedIds().build(b);
            float[] g = randomGrads(b.bagCount(), dim, f.rnd);
            buf.writeGradients(g, b.bagCount());
            f.pool.apply(f.table, d, buf, 0.1f, 1e-6f);
            f.ref.apply(d, g, 0.1f, 1e-6f);
            assertRowsEqual(f, f.hot, f.hot.length);
        }
    }

    /**
     * A hot table's row ids must fit the row-to-slot map's 32 bits; a resident one's need not be
     * mapped. (The pool picks its index itself here: a direct one for 2^32 rows would be 16 GB.)
     */
    @Test
    void aTableTooLargeForTheRowMapIsRefusedByName() {
        RowLayout layout = RowLayout.of(4, Optimizer.SGD);
        try (SlotPool pool = new SlotPool(device, layout, 100 * (layout.bytesPerRow() + 1L), 1, 0, RowSlotIndex.AUTO)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> pool.addTable(new TableSpec("huge", 1L << 33, 4, Optimizer.SGD)));
            assertTrue(e.getMessage().contains("huge") && e.getMessage().contains("fewer than"), e.getMessage());
            int t = pool.addTable(new TableSpec("largest", RowSlotMap.ROW_LIMIT, 4, Optimizer.SGD));
            long[] rows = {RowSlotMap.ROW_LIMIT - 1, 0};
            pool.promote(t, rows, 2, java.nio.ByteBuffer.allocateDirect(2 * layout.bytesPerRow()));
            assertTrue(pool.contains(t, RowSlotMap.ROW_LIMIT - 1));
            assertEquals(2, pool.rowCount(t));
        }
    }

    /**
     * Three tables staged at once from three threads into one batch (bags at a stride, the
     * last bags of each span empty), pooled with one launch and updated with one apply: equal bit
     * for bit to the reference per table, and empty padding bags pool to zeros.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Optimizer.class)
    void tablesStagedAtOnceGatherAndApplyAsOneLaunchBitForBit(Optimizer opt) throws Exception {
        int dim = 8;
        int tables = 3;
        int stride = 40;
        RowLayout layout = RowLayout.of(dim, opt);
        Random rnd = new Random(303 + opt.ordinal());
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(tables);
        try (SlotPool pool = newPool(device, layout, 2000 * (layout.bytesPerRow() + 1L));
             HotBatch buf = pool.newBatch(tables * stride, tables * stride * 4)) {
            int[] handle = new int[tables];
            ReferenceTier[] ref = new ReferenceTier[tables];
            long[][] hot = new long[tables][];
            for (int t = 0; t < tables; t++) {
                handle[t] = pool.addTable(new TableSpec("t" + t, 10_000, dim, opt));
                ref[t] = new ReferenceTier(layout);
                hot[t] = rnd.longs(50 + 100 * t, 0, 10_000).distinct().toArray();
                for (long id : hot[t]) {
                    ref[t].put(id, randomRow(layout, rnd));
                }
                pool.promote(handle[t], hot[t], hot[t].length, ref[t].pack(hot[t], hot[t].length));
            }
            for (int step = 0; step < 4; step++) {
                PooledBatch[] b = new PooledBatch[tables];
                DedupedIds[] d = new DedupedIds[tables];
                int[] idStart = new int[tables + 1];
                int[] uStart = new int[tables + 1];
                int[] occStart = new int[tables + 1];
                for (int t = 0; t < tables; t++) {
                    int bags = stride - 1 - rnd.nextInt(5) - 5 * t;
                    b[t] = new PooledBatch(bags * 4, bags);
                    for (int i = 0; i < bags; i++) {
                        for (int j = rnd.nextInt(4); j > 0; j--) {
                            b[t].add(hot[t][rnd.nextInt(hot[t].length)]);
                        }
                        b[t].endBag();
                    }
                    d[t] = new DedupedIds().build(b[t]);
                    idStart[t + 1] = idStart[t] + b[t].idCount();
                    uStart[t + 1] = uStart[t] + d[t].uniqueCount();
                    occStart[t + 1] = occStart[t] + (d[t].uniqueCount() == 0 ? 0 : d[t].occStart()[d[t].uniqueCount()]);
                }
                // Odd steps translate each unique id once and keep its slot for the apply.
                boolean keep = step % 2 == 1;
                List<java.util.concurrent.Future<?>> staged = new ArrayList<>();
                for (int t = 0; t < tables; t++) {
                    int tt = t;
                    staged.add(threads.submit(() -> {
                        if (keep) {
                            pool.stageGatherUnique(handle[tt], b[tt], d[tt], buf, tt * stride, stride, idStart[tt], uStart[tt], null);
                        } else {
                            pool.stageGather(handle[tt], b[tt], buf, tt * stride, stride, idStart[tt]);
                        }
                    }));
                }
                for (var f : staged) {
                    f.get();
                }
                pool.gatherStaged(buf, tables * stride, idStart[tables]);
                float[] grads = new float[tables * stride * dim];
                for (int t = 0; t < tables; t++) {
                    float[] got = new float[stride * dim];
                    buf.readPooled(got, t * stride, stride);
                    assertBits(ref[t].gather(b[t]), got, b[t].bagCount() * dim, opt + " table " + t + " step " + step + " gather");
                    for (int i = b[t].bagCount() * dim; i < stride * dim; i++) {
                        assertEquals(0f, got[i], "table " + t + ": a padding bag pools to zero");
                    }
                    float[] g = randomGrads(b[t].bagCount(), dim, rnd);
                    System.arraycopy(g, 0, grads, t * stride * dim, g.length);
                    ref[t].apply(d[t], g, 0.1f, 1e-6f);
                }
                buf.writeGradients(grads, tables * stride);
                staged.clear();
                for (int t = 0; t < tables; t++) {
                    int tt = t;
                    staged.add(threads.submit(() -> {
                        if (keep) {
                            pool.stageApplyKept(handle[tt], d[tt], buf, tt * stride, uStart[tt], occStart[tt]);
                        } else {
                            pool.stageApply(handle[tt], d[tt], buf, tt * stride, uStart[tt], occStart[tt]);
                        }
                    }));
                }
                for (var f : staged) {
                    f.get();
                }
                pool.applyStaged(buf, uStart[tables], occStart[tables], 0.1f, 1e-6f);
            }
            ByteBuffer out = ByteBuffer.allocateDirect(300 * layout.bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
            for (int t = 0; t < tables; t++) {
                pool.read(handle[t], hot[t], hot[t].length, out, null);
                for (int i = 0; i < hot[t].length; i++) {
                    assertBits(ref[t].rows.get(hot[t][i]), ReferenceTier.unpack(out, i, layout), layout.floatsPerRow(),
                            "table " + t + " row " + hot[t][i]);
                }
            }
        } finally {
            threads.shutdownNow();
        }
    }

    /**
     * Rows a batch stages in reserved slots (a tiered store's misses): written in one copy,
     * forwarded between slots on the device, gathered and updated beside held rows through the
     * staged lookup, read back: all equal to the reference bit for bit; the table's own rows and
     * held counts are untouched, and resizing keeps the reserved rows where they are.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Optimizer.class)
    void rowsStagedInReservedSlotsGatherApplyAndReadBackBitForBit(Optimizer opt) {
        int dim = 8;
        RowLayout layout = RowLayout.of(dim, opt);
        Random rnd = new Random(404 + opt.ordinal());
        try (SlotPool pool = newPool(device, layout, 600 * (layout.bytesPerRow() + 1L));
             HotBatch buf = pool.newBatch(64, 256)) {
            int table = pool.addTable(new TableSpec("t", 10_000, dim, opt));
            long base = pool.reserveSlots(256);
            assertEquals(256, pool.used(), "reserved slots count as used");
            ReferenceTier ref = new ReferenceTier(layout);
            long[] held = rnd.longs(100, 0, 5_000).distinct().toArray();
            for (long id : held) {
                ref.put(id, randomRow(layout, rnd));
            }
            pool.promote(table, held, held.length, ref.pack(held, held.length));
            long[] staged = rnd.longs(40, 5_000, 10_000).distinct().toArray();
            for (long id : staged) {
                ref.put(id, randomRow(layout, rnd));
            }
            ByteBuffer rows = pool.newRowBuffer(256);
            rows.put(0, ref.pack(staged, staged.length), 0, staged.length * layout.bytesPerRow());
            // The first half staged from the host at base + k; the second half forwarded: written
            // at base + 100 + k, then copied on the device to base + 20 + k.
            int half = staged.length / 2;
            pool.writeReserved(buf, base, half, rows);
            ByteBuffer second = pool.newRowBuffer(256);
            second.put(0, rows, half * layout.bytesPerRow(), (staged.length - half) * layout.bytesPerRow());
            pool.writeReserved(buf, base + 100, staged.length - half, second);
            long[] from = new long[staged.length - half];
            long[] to = new long[from.length];
            for (int k = 0; k < from.length; k++) {
                from[k] = base + 100 + k;
                to[k] = base + half + k;
            }
            pool.copyReserved(buf, from, to, from.length);
            java.util.Map<Long, Integer> index = new java.util.HashMap<>();
            for (int k = 0; k < staged.length; k++) {
                index.put(staged[k], k);
            }
            dev.ember.cache.hot.StagedRows lookup = row -> index.containsKey(row) ? base + index.get(row) : -1;
            PooledBatch b = new PooledBatch(64 * 3, 64);
            for (int i = 0; i < 64; i++) {
                for (int j = rnd.nextInt(4); j > 0; j--) {
                    b.add(rnd.nextBoolean() ? held[rnd.nextInt(held.length)] : staged[rnd.nextInt(staged.length)]);
                }
                b.endBag();
            }
            pool.stageGather(table, b, buf, 0, 64, 0, lookup);
            pool.gatherStaged(buf, 64, b.idCount());
            float[] got = new float[64 * dim];
            buf.readPooled(got, 64);
            assertBits(ref.gather(b), got, 64 * dim, opt + " gather of held and staged rows");
            DedupedIds d = new DedupedIds().build(b);
            float[] g = randomGrads(64, dim, rnd);
            buf.writeGradients(g, 64);
            pool.stageApply(table, d, buf, 0, 0, 0, lookup);
            pool.applyStaged(buf, d.uniqueCount(), d.occStart()[d.uniqueCount()], 0.1f, 1e-6f);
            ref.apply(d, g, 0.1f, 1e-6f);
            pool.resize(900 * (layout.bytesPerRow() + 1L)); // reserved rows stay put
            ByteBuffer back = pool.newRowBuffer(256);
            pool.readReserved(buf, base, staged.length, back);
            pool.awaitReserved(buf);
            for (int k = 0; k < staged.length; k++) {
                assertBits(ref.rows.get(staged[k]), ReferenceTier.unpack(back, k, layout), layout.floatsPerRow(),
                        "staged row " + staged[k]);
                assertFalse(pool.contains(table, staged[k]), "a staged row is not held by the table");
            }
            ByteBuffer out = ByteBuffer.allocateDirect(held.length * layout.bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
            pool.read(table, held, held.length, out, null);
            for (int i = 0; i < held.length; i++) {
                assertBits(ref.rows.get(held[i]), ReferenceTier.unpack(out, i, layout), layout.floatsPerRow(), "held row " + held[i]);
            }
            assertEquals(held.length, pool.rowCount(table));
            assertMessage(IllegalArgumentException.class, "not all reserved",
                    () -> pool.writeReserved(buf, base + 250, 10, rows));
            assertMessage(IllegalArgumentException.class, "row buffers",
                    () -> pool.writeReserved(buf, base, 1, ByteBuffer.allocateDirect(64)));
            assertMessage(IllegalStateException.class, "before promoting", () -> pool.reserveSlots(10));
        }
    }

    @Test
    void sgdStepStaysWithinFloat64BoundThatGrowsWithOccurrences() {
        int dim = 8;
        float lr = 0.5f;
        try (Fixture f = new Fixture(device, RowLayout.of(dim, Optimizer.SGD), 256, 50, 31);
             HotBatch buf = f.pool.newBatch(512, 512)) {
            PooledBatch b = f.batch(512, 1);
            DedupedIds d = new DedupedIds().build(b);
            float[] g = randomGrads(b.bagCount(), dim, f.rnd);
            buf.writeGradients(g, b.bagCount());
            f.pool.apply(f.table, d, buf, lr, 0f);
            ByteBuffer out = ByteBuffer.allocateDirect(d.uniqueCount() * dim * 4).order(ByteOrder.LITTLE_ENDIAN);
            f.pool.read(f.table, d.unique(), d.uniqueCount(), out, null);
            for (int u = 0; u < d.uniqueCount(); u++) {
                float[] w0 = f.ref.rows.get(d.unique()[u]);
                int k = d.occStart()[u + 1] - d.occStart()[u];
                for (int c = 0; c < dim; c++) {
                    double sum = 0;
                    double abs = 0;
                    for (int j = d.occStart()[u]; j < d.occStart()[u + 1]; j++) {
                        sum += g[d.occBag()[j] * dim + c];
                        abs += Math.abs(g[d.occBag()[j] * dim + c]);
                    }
                    double exact = w0[c] - (double) lr * sum;
                    float got = out.getFloat((u * dim + c) * 4);
                    double bound = U * ((k + 2) * lr * abs + Math.abs(w0[c]) + Math.abs(exact));
                    assertTrue(Math.abs(got - exact) <= bound, "got " + got + ", float64 " + exact + ": row " + d.unique()[u] + " (" + k + " occurrences) col " + c
                            + ": error " + Math.abs(got - exact) + " > " + bound);
                }
            }
        }
    }

    // ---------------------------------------------------------------- promote, demote, dirty

    @Test
    void promotedRowsReadBackExactlyAndStartClean() {
        RowLayout layout = RowLayout.of(6, Optimizer.ADAGRAD);
        try (Fixture f = new Fixture(device, layout, 20_000, 12_000, 41)) {
            assertEquals(12_000, f.pool.used());
            assertEquals(12_000, f.pool.rowCount(f.table));
            assertTrue(f.pool.contains(f.table, f.hot[5]));
            ByteBuffer out = ByteBuffer.allocateDirect(f.hot.length * layout.bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
            boolean[] dirty = new boolean[f.hot.length];
            f.pool.read(f.table, f.hot, f.hot.length, out, dirty);
            for (int i = 0; i < f.hot.length; i++) {
                assertBits(f.ref.rows.get(f.hot[i]), ReferenceTier.unpack(out, i, layout), layout.floatsPerRow(), "row " + f.hot[i]);
                assertFalse(dirty[i], "a promoted row starts clean");
            }
        }
    }

    @Test
    void rowsMoveInSeveralChunksThroughStagingAndThroughRowBuffers() {
        int dim = 512;
        RowLayout layout = RowLayout.of(dim, Optimizer.ROWWISE_ADAGRAD);
        int n = 9000; // 2052-byte rows: 2044 rows a staging chunk, so five (one more than SlotPool.STAGES)
        try (SlotPool pool = newPool(device, layout, 2L * n * (layout.bytesPerRow() + 1L))) {
            int table = pool.addTable(new TableSpec("wide", 1_000_000, dim, Optimizer.ROWWISE_ADAGRAD));
            assertTrue(n > SlotPool.STAGES * (SlotPool.STAGING_BYTES / layout.bytesPerRow()), "a staging chunk reused");
            ReferenceTier ref = new ReferenceTier(layout);
            Random rnd = new Random(13);
            long[] a = new long[n];
            long[] b = new long[n];
            for (int i = 0; i < n; i++) {
                a[i] = 2L * i;
                b[i] = 2L * i + 1;
                ref.put(a[i], randomRow(layout, rnd));
                ref.put(b[i], randomRow(layout, rnd));
            }
            pool.promote(table, a, n, ref.pack(a, n));
            ByteBuffer rowBuffer = pool.newRowBuffer(n);
            rowBuffer.put(0, ref.pack(b, n), 0, n * layout.bytesPerRow());
            pool.promote(table, b, n, rowBuffer);
            rowBuffer.put(0, ByteBuffer.allocate(n * layout.bytesPerRow()), 0, n * layout.bytesPerRow());
            ByteBuffer out = pool.newRowBuffer(n);
            boolean[] dirty = new boolean[n];
            pool.read(table, b, n, out, dirty);
            for (int i = 0; i < n; i += 7) {
                assertBits(ref.rows.get(b[i]), ReferenceTier.unpack(out, i, layout), layout.floatsPerRow(), "row buffer read " + i);
            }
            // Rows updated in every chunk (none a multiple of 7: those are checked against the
            // reference below): each chunk's dirty flags are taken while later chunks copy.
            int[] updated = {1, 2043, 2045, 4090, 6135, 8180, 8999}; // 2043: chunk 0's last row
            try (HotBatch grads = pool.newBatch(updated.length, updated.length)) {
                PooledBatch batch = new PooledBatch(updated.length, updated.length);
                for (int i : updated) {
                    batch.add(a[i]).endBag();
                }
                grads.writeGradients(randomGrads(updated.length, dim, rnd), updated.length);
                pool.apply(table, new DedupedIds().build(batch), grads, 0.1f, 1e-6f);
            }
            java.util.Arrays.fill(dirty, true); // every flag must be written
            int moved = pool.demote(table, a, n, out, dirty);
            assertEquals(updated.length, moved);
            java.util.Set<Integer> wasUpdated = new java.util.HashSet<>();
            for (int i : updated) {
                wasUpdated.add(i);
            }
            for (int i = 0; i < n; i++) {
                assertEquals(wasUpdated.contains(i), dirty[i], "dirty flag of demoted row " + i);
            }
            for (int i = 0; i < n; i += 7) {
                assertBits(ref.rows.get(a[i]), ReferenceTier.unpack(out, i, layout), layout.floatsPerRow(), "row buffer demote " + i);
            }
            // Into plain direct memory (the map threads, where there are any, drain the staging).
            ByteBuffer direct = ByteBuffer.allocateDirect(n * layout.bytesPerRow());
            pool.read(table, b, n, direct, null);
            for (int i = 0; i < n; i += 3) {
                assertBits(ref.rows.get(b[i]), ReferenceTier.unpack(direct, i, layout), layout.floatsPerRow(), "direct read " + i);
            }
            direct.put(0, ByteBuffer.allocate(n * layout.bytesPerRow()), 0, n * layout.bytesPerRow());
            pool.demote(table, b, n, direct, null);
            for (int i = 0; i < n; i += 3) {
                assertBits(ref.rows.get(b[i]), ReferenceTier.unpack(direct, i, layout), layout.floatsPerRow(), "direct demote " + i);
            }
            pool.promote(table, b, n, direct);
            ByteBuffer plain = ByteBuffer.allocate(n * layout.bytesPerRow());
            pool.demote(table, b, n, plain, null);
            for (int i = 0; i < n; i += 7) {
                assertBits(ref.rows.get(b[i]), ReferenceTier.unpack(plain, i, layout), layout.floatsPerRow(), "heap demote " + i);
            }
            assertEquals(0, pool.used());
            // A row found held in the last chunk undoes the whole call.
            pool.promote(table, new long[] {b[n - 1]}, 1, ref.pack(new long[] {b[n - 1]}, 1));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pool.promote(table, b, n, ref.pack(b, n)));
            assertTrue(e.getMessage().contains("already hot"), e.getMessage());
            assertEquals(1, pool.used());
            assertFalse(pool.contains(table, b[0]));
            // A row not held in the middle chunk of a demote keeps every row held, bytes intact.
            pool.promote(table, a, n, ref.pack(a, n));
            long[] gap = a.clone();
            gap[n / 2] = b[0];
            e = assertThrows(IllegalArgumentException.class, () -> pool.demote(table, gap, n, out, null));
            assertTrue(e.getMessage().contains("row " + b[0] + " is not hot"), e.getMessage());
            assertEquals(n + 1, pool.used());
            pool.read(table, a, n, out, dirty);
            for (int i = 0; i < n; i += 7) {
                assertBits(ref.rows.get(a[i]), ReferenceTier.unpack(out, i, layout), layout.floatsPerRow(), "kept row " + i);
            }
        }
    }

    @Test
    void demoteReturnsUpdatedRowsWithDirtyFlagsAndFreesSlots() {
        int dim = 4;
        RowLayout layout = RowLayout.of(dim, Optimizer.ROWWISE_ADAGRAD);
        try (Fixture f = new Fixture(device, layout, 256, 100, 51);
             HotBatch buf = f.pool.newBatch(8, 8)) {
            PooledBatch b = new PooledBatch(8, 8);
            b.add(f.hot[0]).endBag().add(f.hot[2]).add(f.hot[0]).endBag();
            DedupedIds d = new DedupedIds().build(b);
            float[] g = randomGrads(2, dim, f.rnd);
            buf.writeGradients(g, 2);
            f.pool.apply(f.table, d, buf, 0.3f, 1e-8f);
            f.ref.apply(d, g, 0.3f, 1e-8f);
            assertTrue(f.pool.isDirty(f.table, f.hot[0]));
            assertFalse(f.pool.isDirty(f.table, f.hot[1]));
            long[] leave = {f.hot[0], f.hot[1], f.hot[2]};
            ByteBuffer out = ByteBuffer.allocateDirect(3 * layout.bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
            boolean[] dirty = new boolean[3];
            int n = f.pool.demote(f.table, leave, 3, out, dirty);
            assertEquals(2, n);
            assertArrayEquals(new boolean[] {true, false, true}, dirty);
            for (int i = 0; i < 3; i++) {
                assertBits(f.ref.rows.get(leave[i]), ReferenceTier.unpack(out, i, layout), layout.floatsPerRow(), "demoted row " + i);
                assertFalse(f.pool.contains(f.table, leave[i]));
            }
            assertEquals(97, f.pool.used());
            PooledBatch gone = new PooledBatch(1, 1);
            gone.add(f.hot[1]).endBag();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.pool.gather(f.table, gone, buf));
            assertTrue(e.getMessage().contains("row " + f.hot[1]) || e.getMessage().contains("id " + f.hot[1]), e.getMessage());
            // The freed slots take new rows, which read back as promoted.
            for (int i = 0; i < 3; i++) {
                f.ref.put(leave[i], randomRow(layout, f.rnd));
            }
            f.pool.promote(f.table, leave, 3, f.ref.pack(leave, 3));
            assertRowsEqual(f, f.hot, f.hot.length);
            assertFalse(f.pool.isDirty(f.table, f.hot[0]));
        }
    }

    @Test
    void movesThatDoNotWaitMatchTheWaitingOnesAndEvictingFreesSlotsWithoutACopy() {
        int dim = 512;
        RowLayout layout = RowLayout.of(dim, Optimizer.ADAGRAD);
        int n = 5000; // 4096-byte rows: 1024 rows a staging chunk, so five chunks in one readLater
        try (SlotPool pool = newPool(device, layout, 3L * n * (layout.bytesPerRow() + 1L));
             HotBatch grads = pool.newBatch(64, 64)) {
            int table = pool.addTable(new TableSpec("wide", 1_000_000, dim, Optimizer.ADAGRAD));
            ReferenceTier ref = new ReferenceTier(layout);
            Random rnd = new Random(71);
            long[] a = new long[n];
            for (int i = 0; i < n; i++) {
                a[i] = 3L * i;
                ref.put(a[i], randomRow(layout, rnd));
            }
            MoveMark mark = pool.newMoveMark();
            ByteBuffer src = pool.newRowBuffer(n);
            // Promoted in three calls behind one mark (each call's slot numbers past the last's).
            int[] cuts = {0, 700, 3100, n};
            for (int c = 0; c < 3; c++) {
                int from = cuts[c];
                int count = cuts[c + 1] - from;
                long[] part = java.util.Arrays.copyOfRange(a, from, from + count);
                ByteBuffer slice = src.slice(from * layout.bytesPerRow(), count * layout.bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
                slice.put(0, ref.pack(part, count), 0, count * layout.bytesPerRow());
                pool.promoteLater(table, part, count, slice, mark);
                assertTrue(pool.contains(table, part[count - 1]), "held when promoteLater returns");
            }
            mark.await();
            assertTrue(mark.isDone());
            src.put(0, ByteBuffer.allocate(n * layout.bytesPerRow()), 0, n * layout.bytesPerRow()); // the caller's again
            assertEquals(n, pool.used());

            // Some rows updated, then a copy issued, then another update the copy must not see.
            int[] before = {0, 1023, 1024, 2500, 4999};
            applyTo(pool, table, ref, grads, a, before, rnd);
            ByteBuffer out = pool.newRowBuffer(n);
            ByteBuffer flags = pool.newRowBuffer(2);
            byte[] ones = new byte[n];
            java.util.Arrays.fill(ones, (byte) 1);
            flags.put(0, ones); // every flag must be written
            ByteBuffer expected = ref.pack(a, n);
            pool.readLater(table, a, n, out, flags, mark);
            applyTo(pool, table, ref, grads, a, new int[] {7, 4998}, rnd);
            mark.await();
            Set<Integer> dirty = new java.util.HashSet<>();
            for (int i : before) {
                dirty.add(i);
            }
            for (int i = 0; i < n; i++) {
                assertBits(ReferenceTier.unpack(expected, i, layout), ReferenceTier.unpack(out, i, layout), layout.floatsPerRow(),
                        "row " + i + " as copied");
                assertEquals(dirty.contains(i), flags.get(i) != 0, "dirty flag of row " + i);
            }

            // Evicted rows leave without a copy; their slots take new rows; a bad call changes nothing.
            long[] leave = java.util.Arrays.copyOfRange(a, 1000, 3000);
            pool.evict(table, leave, leave.length);
            assertEquals(n - leave.length, pool.used());
            assertFalse(pool.contains(table, leave[0]));
            long[] twice = {a[0], a[1], a[0]};
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pool.evict(table, twice, 3));
            assertTrue(e.getMessage().contains("twice"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> pool.evict(table, new long[] {a[4000], leave[5]}, 2));
            assertTrue(e.getMessage().contains("row " + leave[5] + " is not hot"), e.getMessage());
            assertTrue(pool.contains(table, a[0]) && pool.contains(table, a[1]) && pool.contains(table, a[4000]));
            assertEquals(n - leave.length, pool.used());
            long[] fresh = new long[leave.length];
            for (int i = 0; i < fresh.length; i++) {
                fresh[i] = 3L * i + 1;
                ref.put(fresh[i], randomRow(layout, rnd));
            }
            src.put(0, ref.pack(fresh, fresh.length), 0, fresh.length * layout.bytesPerRow());
            pool.promoteLater(table, fresh, fresh.length, src, mark);
            applyTo(pool, table, ref, grads, fresh, new int[] {0, 1999}, rnd); // in order after the promotion
            mark.await();
            assertEquals(n, pool.used());
            ByteBuffer check = pool.newRowBuffer(n);
            pool.read(table, fresh, fresh.length, check, null);
            for (int i = 0; i < fresh.length; i++) {
                assertBits(ref.rows.get(fresh[i]), ReferenceTier.unpack(check, i, layout), layout.floatsPerRow(), "fresh row " + i);
            }

            // Buffers and marks not of this pool are refused before anything moves.
            e = assertThrows(IllegalArgumentException.class, () -> pool.promoteLater(table, new long[] {2}, 1,
                    ByteBuffer.allocateDirect(layout.bytesPerRow()), mark));
            assertTrue(e.getMessage().contains("row buffers"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> pool.readLater(table, a, 1, ByteBuffer.allocateDirect(layout.bytesPerRow()), flags, mark));
            assertTrue(e.getMessage().contains("row buffers"), e.getMessage());
            MoveMark foreign = new MoveMark() {
                @Override
                public void await() {
                }

                @Override
                public boolean isDone() {
                    return true;
                }
            };
            e = assertThrows(IllegalArgumentException.class, () -> pool.readLater(table, a, 1, out, flags, foreign));
            assertTrue(e.getMessage().contains("newMoveMark"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> pool.readLater(table, new long[] {leave[0]}, 1, out, flags, mark));
            assertTrue(e.getMessage().contains("is not hot"), e.getMessage());
            assertFalse(pool.contains(table, 2));
        }
    }

    /**
     * A step boundary's chunk spans tables: rows of three tables, interleaved (not grouped), over
     * several staging chunks, promoted and copied out in one call each; the rows, their dirty
     * flags and the rows' tables equal per-table references bit for bit; a bad call (a row already
     * held, one named twice, a resident table, a row not held) changes nothing.
     */
    @Test
    void oneCallMovesRowsOfSeveralTablesAsCallsPerTableWould() {
        int dim = 512;
        RowLayout layout = RowLayout.of(dim, Optimizer.ADAGRAD);
        int n = 2500; // 4096-byte rows: 1024 rows a staging chunk, so three chunks in one call
        try (SlotPool pool = newPool(device, layout, 2L * n * (layout.bytesPerRow() + 1L));
             HotBatch grads = pool.newBatch(64, 64)) {
            int[] handles = new int[3];
            ReferenceTier[] refs = new ReferenceTier[3];
            for (int k = 0; k < 3; k++) {
                handles[k] = pool.addTable(new TableSpec("t" + k, 100_000, dim, Optimizer.ADAGRAD));
                refs[k] = new ReferenceTier(layout);
            }
            int resident = pool.addResidentTable(new TableSpec("r", 10, dim, Optimizer.ADAGRAD), 5, 3);
            long residentSlots = pool.used();
            Random rnd = new Random(83);
            int[] tableOf = new int[n];
            long[] rows = new long[n];
            ByteBuffer src = pool.newRowBuffer(n);
            int k = 0;
            for (int i = 0; i < n; i++) {
                // Rows in pairs: one id in two tables (other rows), tables in no order.
                k = i % 2 == 0 ? rnd.nextInt(3) : (k + 1) % 3;
                tableOf[i] = handles[k];
                rows[i] = 13L * (i / 2);
                float[] row = randomRow(layout, rnd);
                refs[k].put(rows[i], row);
                src.put(i * layout.bytesPerRow(), refs[k].pack(new long[] {rows[i]}, 1), 0, layout.bytesPerRow());
            }
            MoveMark mark = pool.newMoveMark();
            pool.promoteLater(tableOf, rows, n, src, mark);
            for (int i = 0; i < n; i++) {
                assertTrue(pool.contains(tableOf[i], rows[i]), "row " + i + " held when promoteLater returns");
            }
            mark.await();
            assertEquals(residentSlots + n, pool.used());
            // One id in two tables is two rows; the third table does not hold it.
            assertEquals(rows[0], rows[1]);
            assertFalse(pool.contains(handles[3 - indexOf(handles, tableOf[0]) - indexOf(handles, tableOf[1])], rows[0]));

            // Updates before the copy show in it and its dirty flags; one after it does not.
            long[][] ofTable = new long[3][];
            for (int t = 0; t < 3; t++) {
                int h = handles[t];
                ofTable[t] = java.util.stream.IntStream.range(0, n).filter(i -> tableOf[i] == h).mapToLong(i -> rows[i]).toArray();
            }
            applyTo(pool, handles[0], refs[0], grads, ofTable[0], new int[] {0, 5, ofTable[0].length - 1}, rnd);
            applyTo(pool, handles[2], refs[2], grads, ofTable[2], new int[] {3}, rnd);
            Set<String> dirty = Set.of(handles[0] + ":" + ofTable[0][0], handles[0] + ":" + ofTable[0][5],
                    handles[0] + ":" + ofTable[0][ofTable[0].length - 1], handles[2] + ":" + ofTable[2][3]);
            ByteBuffer[] expected = new ByteBuffer[n];
            for (int i = 0; i < n; i++) {
                expected[i] = refs[indexOf(handles, tableOf[i])].pack(new long[] {rows[i]}, 1);
            }
            ByteBuffer out = pool.newRowBuffer(n);
            ByteBuffer flags = pool.newRowBuffer(1);
            pool.readLater(tableOf, rows, n, out, flags, mark);
            applyTo(pool, handles[1], refs[1], grads, ofTable[1], new int[] {2}, rnd);
            mark.await();
            for (int i = 0; i < n; i++) {
                assertBits(ReferenceTier.unpack(expected[i], 0, layout), ReferenceTier.unpack(out, i, layout), layout.floatsPerRow(),
                        "row " + i + " as copied");
                assertEquals(dirty.contains(tableOf[i] + ":" + rows[i]), flags.get(i) != 0, "dirty flag of row " + i);
            }

            // Bad calls change nothing: the tier keeps its rows and slots.
            long[] fresh = {90_001, 90_002, rows[10]};
            int[] freshTables = {handles[0], handles[1], tableOf[10]};
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> pool.promoteLater(freshTables, fresh, 3, src, mark));
            assertTrue(e.getMessage().contains("row " + rows[10] + " is already hot"), e.getMessage());
            long[] twice = {90_001, 90_001};
            e = assertThrows(IllegalArgumentException.class,
                    () -> pool.promoteLater(new int[] {handles[2], handles[2]}, twice, 2, src, mark));
            assertTrue(e.getMessage().contains("appears twice"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> pool.promoteLater(new int[] {handles[1], resident}, new long[] {90_003, 1}, 2, src, mark));
            assertTrue(e.getMessage().contains("resident"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> pool.readLater(new int[] {handles[0], handles[1]}, new long[] {ofTable[0][0], 90_004}, 2, out, flags, mark));
            assertTrue(e.getMessage().contains("row 90004 is not hot"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> pool.readLater(new int[] {handles[0]}, new long[] {ofTable[0][0], ofTable[0][1]}, 2, out, flags, mark));
            assertTrue(e.getMessage().contains("count must be"), e.getMessage());
            assertEquals(residentSlots + n, pool.used());
            for (long r : new long[] {90_001, 90_002, 90_003}) {
                for (int h : handles) {
                    assertFalse(pool.contains(h, r), "row " + r + " of table " + h + " not held after a refused call");
                }
            }
            ByteBuffer check = pool.newRowBuffer(n);
            for (int t = 0; t < 3; t++) {
                pool.read(handles[t], ofTable[t], ofTable[t].length, check, null);
                for (int i = 0; i < ofTable[t].length; i++) {
                    assertBits(refs[t].rows.get(ofTable[t][i]), ReferenceTier.unpack(check, i, layout), layout.floatsPerRow(),
                            "table " + t + " row " + i);
                }
            }
        }
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }

    /** Applies one random gradient to rows {@code at} of {@code rows} in the pool and the reference. */
    private static void applyTo(SlotPool pool, int table, ReferenceTier ref, HotBatch grads, long[] rows, int[] at, Random rnd) {
        PooledBatch batch = new PooledBatch(at.length, at.length);
        for (int i : at) {
            batch.add(rows[i]).endBag();
        }
        int dim = pool.layout().dim();
        float[] g = randomGrads(at.length, dim, rnd);
        grads.writeGradients(g, at.length);
        DedupedIds d = new DedupedIds().build(batch);
        pool.apply(table, d, grads, 0.1f, 1e-6f);
        ref.apply(d, g, 0.1f, 1e-6f);
    }

    @Test
    void applySetsDirtyOnlyOnUpdatedRowsAndClearDirtyResets() {
        int dim = 8;
        try (Fixture f = new Fixture(device, RowLayout.of(dim, Optimizer.SGD), 512, 200, 61);
             HotBatch buf = f.pool.newBatch(64, 64 * 3)) {
            PooledBatch b = f.batch(64, 3);
            DedupedIds d = new DedupedIds().build(b);
            buf.writeGradients(randomGrads(b.bagCount(), dim, f.rnd), b.bagCount());
            f.pool.apply(f.table, d, buf, 0.1f, 0f);
            Set<Long> touched = new java.util.HashSet<>();
            for (int u = 0; u < d.uniqueCount(); u++) {
                touched.add(d.unique()[u]);
            }
            boolean[] dirty = new boolean[f.hot.length];
            f.pool.read(f.table, f.hot, f.hot.length, ByteBuffer.allocateDirect(f.hot.length * dim * 4), dirty);
            for (int i = 0; i < f.hot.length; i++) {
                assertEquals(touched.contains(f.hot[i]), dirty[i], "dirty flag of row " + f.hot[i]);
            }
            f.pool.clearDirty(f.table, f.hot, f.hot.length);
            f.pool.read(f.table, f.hot, f.hot.length, ByteBuffer.allocateDirect(f.hot.length * dim * 4), dirty);
            for (boolean x : dirty) {
                assertFalse(x);
            }
        }
    }

    // ---------------------------------------------------------------- budget

    @Test
    void growingAndShrinkingTheBudgetKeepsEveryRow() {
        int dim = 8;
        RowLayout layout = RowLayout.of(dim, Optimizer.ADAGRAD);
        long slot = layout.bytesPerRow() + 1L;
        try (Fixture f = new Fixture(device, layout, 1000, 600, 71);
             HotBatch buf = f.pool.newBatch(100, 400)) {
            f.pool.resize(3000 * slot);
            assertEquals(3000, f.pool.capacity());
            assertRowsEqual(f, f.hot, f.hot.length);
            // Demote every other row so live slots are spread out, then shrink: compaction moves rows down.
            List<Long> keep = new ArrayList<>();
            List<Long> drop = new ArrayList<>();
            for (int i = 0; i < f.hot.length; i++) {
                (i % 2 == 0 ? drop : keep).add(f.hot[i]);
            }
            long[] dropIds = drop.stream().mapToLong(Long::longValue).toArray();
            f.pool.demote(f.table, dropIds, dropIds.length, ByteBuffer.allocateDirect(dropIds.length * layout.bytesPerRow()), null);
            for (long id : dropIds) {
                f.ref.remove(id);
            }
            f.pool.resize(320 * slot);
            assertEquals(320, f.pool.capacity());
            assertEquals(300, f.pool.used());
            long[] keepIds = keep.stream().mapToLong(Long::longValue).toArray();
            assertRowsEqual(f, keepIds, keepIds.length);
            PooledBatch b = new PooledBatch(400, 100);
            Random r = new Random(3);
            for (int i = 0; i < 100; i++) {
                for (int j = 0; j < 4; j++) {
                    b.add(keepIds[r.nextInt(keepIds.length)]);
                }
                b.endBag();
            }
            f.pool.gather(f.table, b, buf);
            float[] got = new float[100 * dim];
            buf.readPooled(got, 100);
            assertBits(f.ref.gather(b), got, 100 * dim, "gather after shrink");
            // The freed capacity takes new rows.
            long[] more = new long[20];
            for (int i = 0; i < 20; i++) {
                more[i] = 99_000 + i;
                f.ref.put(more[i], randomRow(layout, f.rnd));
            }
            f.pool.promote(f.table, more, 20, f.ref.pack(more, 20));
            assertRowsEqual(f, more, 20);
            assertRowsEqual(f, keepIds, keepIds.length);
        }
    }

    @Test
    void shrinkingBelowTheRowsHeldIsAnErrorAndChangesNothing() {
        RowLayout layout = RowLayout.of(4, Optimizer.SGD);
        try (Fixture f = new Fixture(device, layout, 200, 150, 81)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> f.pool.resize(100 * 17L));
            assertTrue(e.getMessage().contains("demote 50 rows first"), e.getMessage());
            assertEquals(200, f.pool.capacity());
            assertRowsEqual(f, f.hot, f.hot.length);
        }
    }

    @Test
    void aBudgetBeyondFreeDeviceMemoryIsAClearErrorBeforeAnyAllocation() {
        // Wide rows keep the slot count of a budget above a 141 GB card's memory under 2^31.
        RowLayout layout = RowLayout.of(256, Optimizer.SGD);
        long tooMuch = device.freeMemory() + (1L << 30);
        long before = device.freeMemory();
        DeviceMemoryException e = assertThrows(DeviceMemoryException.class, () -> newPool(device, layout, tooMuch));
        assertTrue(e.getMessage().contains("lower the hot budget"), e.getMessage());
        try (Fixture f = new Fixture(device, layout, 100, 50, 91)) {
            DeviceMemoryException g = assertThrows(DeviceMemoryException.class, () -> f.pool.resize(tooMuch));
            assertTrue(g.getMessage().contains("free"), g.getMessage());
            assertEquals(100, f.pool.capacity());
            assertRowsEqual(f, f.hot, f.hot.length);
        }
        assertTrue(device.freeMemory() >= before - (64L << 20), "a failed pool leaks no device memory");
    }

    @Test
    void promotingBeyondCapacityIsAnErrorAndChangesNothing() {
        RowLayout layout = RowLayout.of(4, Optimizer.SGD);
        try (Fixture f = new Fixture(device, layout, 100, 90, 101)) {
            long[] more = new long[20];
            for (int i = 0; i < 20; i++) {
                more[i] = 99_500 + i;
            }
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> f.pool.promote(f.table, more, 20, ByteBuffer.allocateDirect(20 * 16)));
            assertTrue(e.getMessage().contains("10 free slots"), e.getMessage());
            assertEquals(90, f.pool.used());
            assertFalse(f.pool.contains(f.table, more[0]));
        }
    }

    // ---------------------------------------------------------------- resident (device mode)

    @ParameterizedTest(name = "{0}")
    @EnumSource(Optimizer.class)
    void residentTablesStartAtRowInitAndTrainInPlace(Optimizer opt) {
        int dim = 8;
        RowLayout layout = RowLayout.of(dim, opt);
        TableSpec a = new TableSpec("a", 300, dim, opt);
        TableSpec b = new TableSpec("b", 500, dim, opt);
        try (SlotPool pool = newPool(device, layout, 1000 * (layout.bytesPerRow() + 1L));
             HotBatch buf = pool.newBatch(32, 64)) {
            int ta = pool.addResidentTable(a, 42L, 0);
            int tb = pool.addResidentTable(b, 42L, 1);
            assertEquals(800, pool.used());
            ReferenceTier ref = new ReferenceTier(layout);
            float[] row = new float[layout.floatsPerRow()];
            long[] all = new long[500];
            for (int r = 0; r < 500; r++) {
                all[r] = r;
                RowInit.fill(42L, 1, r, layout, RowInit.scale(500), row, 0);
                ref.put(r, row);
            }
            ByteBuffer out = ByteBuffer.allocateDirect(500 * layout.bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
            pool.read(tb, all, 500, out, null);
            for (int r = 0; r < 500; r++) {
                assertBits(ref.rows.get((long) r), ReferenceTier.unpack(out, r, layout), layout.floatsPerRow(), "initial row " + r);
            }
            Random rnd = new Random(7);
            PooledBatch batch = new PooledBatch(64, 32);
            for (int i = 0; i < 32; i++) {
                batch.add(rnd.nextInt(500)).add(rnd.nextInt(500)).endBag();
            }
            pool.gather(tb, batch, buf);
            float[] got = new float[32 * dim];
            buf.readPooled(got, 32);
            assertBits(ref.gather(batch), got, 32 * dim, "resident gather");
            DedupedIds d = new DedupedIds().build(batch);
            float[] g = randomGrads(32, dim, rnd);
            buf.writeGradients(g, 32);
            pool.apply(tb, d, buf, 0.2f, 1e-7f);
            ref.apply(d, g, 0.2f, 1e-7f);
            pool.read(tb, all, 500, out, null);
            for (int r = 0; r < 500; r++) {
                assertBits(ref.rows.get((long) r), ReferenceTier.unpack(out, r, layout), layout.floatsPerRow(), "trained row " + r);
            }
            assertTrue(pool.contains(ta, 299));
            assertFalse(pool.contains(ta, 300));
            assertThrows(IllegalArgumentException.class, () -> pool.demote(ta, new long[] {1}, 1, ByteBuffer.allocateDirect(64), null));
        }
    }

    // ---------------------------------------------------------------- bad arguments

    @Test
    void badArgumentsAreClearErrors() {
        RowLayout layout = RowLayout.of(4, Optimizer.ROWWISE_ADAGRAD);
        try (Fixture f = new Fixture(device, layout, 100, 10, 111);
             SlotPool other = newPool(device, layout, 10 * (layout.bytesPerRow() + 1L));
             HotBatch small = f.pool.newBatch(2, 2);
             HotBatch foreign = other.newBatch(2, 2)) {
            assertMessage(IllegalArgumentException.class, "layout",
                    () -> f.pool.addTable(new TableSpec("x", 10, 8, Optimizer.SGD)));
            assertMessage(IllegalArgumentException.class, "no table with handle 7", () -> f.pool.contains(7, 0));
            PooledBatch big = new PooledBatch(3, 3);
            big.add(f.hot[0]).endBag().add(f.hot[1]).endBag().add(f.hot[2]).endBag();
            assertMessage(IllegalArgumentException.class, "exceeds the batch buffer", () -> f.pool.gather(f.table, big, small));
            PooledBatch one = new PooledBatch(1, 1);
            one.add(f.hot[0]).endBag();
            assertMessage(IllegalArgumentException.class, "not made by this pool", () -> f.pool.gather(f.table, one, foreign));
            assertMessage(IllegalArgumentException.class, "outside [0, 100000)",
                    () -> f.pool.promote(f.table, new long[] {100_000}, 1, ByteBuffer.allocateDirect(64)));
            assertMessage(IllegalArgumentException.class, "already hot",
                    () -> f.pool.promote(f.table, new long[] {f.hot[0]}, 1, ByteBuffer.allocateDirect(64)));
            assertMessage(IllegalArgumentException.class, "appears twice",
                    () -> f.pool.promote(f.table, new long[] {5, 5}, 2, ByteBuffer.allocateDirect(64)));
            assertFalse(f.pool.contains(f.table, 5), "a failed promote leaves nothing behind");
            assertEquals(10, f.pool.used());
            assertMessage(IllegalArgumentException.class, "limit is 8",
                    () -> f.pool.promote(f.table, new long[] {6}, 1, ByteBuffer.allocateDirect(8)));
            assertMessage(IllegalArgumentException.class, "is not hot",
                    () -> f.pool.read(f.table, new long[] {6}, 1, ByteBuffer.allocateDirect(64), null));
            assertMessage(IllegalArgumentException.class, "row 6 is not hot",
                    () -> f.pool.demote(f.table, new long[] {f.hot[0], 6}, 2, ByteBuffer.allocateDirect(64), null));
            assertMessage(IllegalArgumentException.class, "appears twice in one demote",
                    () -> f.pool.demote(f.table, new long[] {f.hot[1], f.hot[1]}, 2, ByteBuffer.allocateDirect(64), null));
            assertTrue(f.pool.contains(f.table, f.hot[0]) && f.pool.contains(f.table, f.hot[1]), "a failed demote keeps its rows");
            assertEquals(10, f.pool.used());
            assertRowsEqual(f, f.hot, f.hot.length);
            DedupedIds d = new DedupedIds().build(one);
            assertMessage(IllegalArgumentException.class, "learning rate", () -> f.pool.apply(f.table, d, small, Float.NaN, 1e-8f));
            assertMessage(IllegalArgumentException.class, "eps", () -> f.pool.apply(f.table, d, small, 0.1f, 0f));
            assertMessage(IllegalArgumentException.class, "maxBags", () -> small.writeGradients(new float[100], 3));
            assertMessage(IllegalArgumentException.class, "maxBags", () -> small.readPooled(new float[100], 1, 2));
            assertMessage(IllegalArgumentException.class, "exceeds the batch buffer",
                    () -> f.pool.stageGather(f.table, one, small, 1, 2, 0));
            assertMessage(IllegalArgumentException.class, "is outside the batch buffer's 2 bags",
                    () -> f.pool.stageApply(f.table, d, small, 2, 0, 0));
            assertMessage(IllegalArgumentException.class, "buys no slot", () -> f.pool.resize(3));
            assertMessage(IllegalArgumentException.class, "count must be", () -> f.pool.clearDirty(f.table, new long[1], 2));
        }
    }

    private static void assertMessage(Class<? extends Throwable> type, String part, org.junit.jupiter.api.function.Executable e) {
        Throwable t = assertThrows(type, e);
        assertTrue(t.getMessage() != null && t.getMessage().contains(part), "message '" + t.getMessage() + "' should name '" + part + "'");
    }
}

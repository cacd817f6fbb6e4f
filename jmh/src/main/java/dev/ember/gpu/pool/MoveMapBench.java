package dev.ember.gpu.pool;

import dev.ember.gpu.device.UnsafeMemory;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

import java.util.concurrent.TimeUnit;

/**
 * The host's share of a promotion and a demotion, no device: the pool's {@link MapThreads} map
 * {@value #ROWS} rows (the {@code PromoteDemoteBench} shape, ids {@code 7i + 3}) into a table's
 * {@link RowSlotStripes} (PUT, as a promotion does) and unmap them (REMOVE, as a demotion does),
 * in chunks of {@code chunkRows} (the staging chunk at dim 64). {@code copy}: the threads also
 * copy each chunk's rows ({@code rowBytes} each) into staging on PUT and out of it on REMOVE, as
 * for plain direct buffers. Scores are rows a second (one PUT and one REMOVE per row): the
 * ceiling the host sets, to set beside the copy engine's (55 GB/s at dim 64 = 212 M rows/s).
 * {@code lookUp}: every row looked up (GET, as {@code read}), rows a second. {@code put} and
 * {@code remove}: a promotion's and a demotion's share apart (the other, untimed, before each call).
 * In gpu-tier's package (classpath, not modules) to reach the map classes, which are package-private.
 *
 * {@code index}: {@code hashed} ({@link RowSlotMap} stripes) or {@code direct} ({@link DirectRowSlots}
 * over a table just large enough for the ids).
 *
 * <p>{@code java -jar benchmarks.jar MoveMapBench -p threads=1,2,4,8 -p index=hashed,direct}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Xmx1g")
public class MoveMapBench {
    static final int ROWS = 262_144;

    @Param({"1", "2"})
    public int threads;
    @Param({"16131"})
    public int chunkRows;
    @Param({"false", "true"})
    public boolean copy;
    @Param({"260"})
    public int rowBytes;
    /** Map entries per row, at least (the pool's {@code ember.hot.mapRoom}; 2 was the one load before). */
    @Param({"4"})
    public int room;
    /**
     * Rows the table holds besides the moved ones (ids {@code 7i + 5}), spread over its stripes:
     * 0 keeps a stripe within the caches of a core or two; millions make every probe a miss to
     * memory, as in a hot tier of millions of rows.
     */
    @Param({"0"})
    public int resident;
    @Param({"hashed"})
    public String index;

    private MapThreads mapThreads;
    private RowSlotStripes map;
    private final long[] rows = new long[ROWS];
    private final int[] slots = new int[ROWS];
    private final byte[] bad = new byte[ROWS];
    private long buffer;
    private final long[] staging = new long[2];

    @Setup
    public void setUp() {
        mapThreads = new MapThreads(threads, 0, "bench-map");
        map = index.equals("direct") ? RowSlotStripes.direct(threads, 7L * (ROWS + resident) + 8)
                : new RowSlotStripes(threads, ROWS + resident, room);
        for (int i = 0; i < ROWS; i++) {
            rows[i] = 7L * i + 3;
        }
        for (int i = 0; i < resident; i++) {
            map.putIfAbsent(7L * i + 5, ROWS + i);
        }
        buffer = UnsafeMemory.allocate((long) ROWS * rowBytes, "bench rows");
        UnsafeMemory.UNSAFE.setMemory(buffer, (long) ROWS * rowBytes, (byte) 1);
        for (int h = 0; h < 2; h++) {
            staging[h] = UnsafeMemory.allocate((long) chunkRows * rowBytes, "bench staging");
        }
    }

    @Benchmark
    @OperationsPerInvocation(ROWS)
    public int putThenRemove() {
        if (map.size() != resident) {
            emptyMap();
        }
        map.prepare(RowSlotStripes.Op.PUT, rows, slots, bad, ROWS, chunkRows, 0, 0, 0);
        if (copy) {
            map.copyRows(buffer, staging, rowBytes);
        }
        run();
        map.prepare(RowSlotStripes.Op.REMOVE, rows, slots, bad, ROWS, chunkRows, 0, 0, 0);
        if (copy) {
            map.drainRows(staging, buffer, rowBytes);
        }
        run();
        return slots[ROWS - 1];
    }

    /** A promotion's share: every row mapped (the map emptied, untimed, before the call). */
    @Benchmark
    @OperationsPerInvocation(ROWS)
    public int put() {
        map.prepare(RowSlotStripes.Op.PUT, rows, slots, bad, ROWS, chunkRows, 0, 0, 0);
        if (copy) {
            map.copyRows(buffer, staging, rowBytes);
        }
        run();
        return map.size();
    }

    /** A demotion's share: every row unmapped, its slot placed in {@code slots} (the map filled, untimed, before the call). */
    @Benchmark
    @OperationsPerInvocation(ROWS)
    public int remove() {
        map.prepare(RowSlotStripes.Op.REMOVE, rows, slots, bad, ROWS, chunkRows, 0, 0, 0);
        if (copy) {
            map.drainRows(staging, buffer, rowBytes);
        }
        run();
        return slots[ROWS - 1];
    }

    /** Before each call of {@code put} or {@code remove}: the map as that move finds it. */
    @Setup(Level.Invocation)
    public void ready(BenchmarkParams params) {
        String name = params.getBenchmark();
        if (name.endsWith(".remove") && map.size() == resident) {
            boolean copies = copy;
            copy = false;
            map.prepare(RowSlotStripes.Op.PUT, rows, slots, bad, ROWS, chunkRows, 0, 0, 0);
            run();
            copy = copies;
        } else if (name.endsWith(".put") && map.size() != resident) {
            emptyMap();
        }
    }

    /** Looks every row up (as {@code read} does) in a map that holds them all: no map changes, the same writes of slots. */
    @Benchmark
    @OperationsPerInvocation(ROWS)
    public int lookUp() {
        if (map.size() == resident) {
            map.prepare(RowSlotStripes.Op.PUT, rows, slots, bad, ROWS, chunkRows, 0, 0, 0);
            run();
        }
        map.prepare(RowSlotStripes.Op.GET, rows, slots, bad, ROWS, chunkRows, 0, 0, 0);
        if (copy) {
            map.drainRows(staging, buffer, rowBytes);
        }
        run();
        return slots[ROWS - 1];
    }

    private void emptyMap() {
        boolean copies = copy;
        copy = false;
        map.prepare(RowSlotStripes.Op.REMOVE, rows, slots, bad, ROWS, chunkRows, 0, 0, 0);
        run();
        copy = copies;
    }

    /** As the pool's caller does: each chunk's copy in order, then the rest of the call. */
    private void run() {
        mapThreads.start(map);
        int chunks = map.chunks();
        for (int k = 0; k < chunks; k++) {
            if (copy) {
                mapThreads.copyChunk(k);
            }
            mapThreads.awaitChunk(k);
        }
        if (mapThreads.awaitFrom(chunks)) {
            throw new IllegalStateException("a row failed");
        }
    }

    @TearDown
    public void tearDown() {
        mapThreads.close();
        map.close();
        UnsafeMemory.free(buffer);
        UnsafeMemory.free(staging[0]);
        UnsafeMemory.free(staging[1]);
    }
}

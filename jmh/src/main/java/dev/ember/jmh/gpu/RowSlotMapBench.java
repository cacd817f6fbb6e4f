package dev.ember.jmh.gpu;

import dev.ember.gpu.pool.RowSlotMap;
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

import java.util.concurrent.TimeUnit;

/**
 * The host's share of promotion and demotion alone, no device: {@value #ROWS} rows (the
 * {@link PromoteDemoteBench} shape) mapped into and unmapped from a {@link RowSlotMap}, one row
 * per operation, on one thread: what one map thread of the pool (one stripe) does per row. Each
 * invocation puts the rows then removes them (so both halves see the same map); the score is
 * rows per second for the pair, so a pair costs {@code 1 / score}. {@code moveEighth}: one row in
 * eight removed then put back, the other rows staying (a partial demotion and promotion).
 * {@code room}: map entries per row, at least (the pool's {@code ember.hot.mapRoom}; 2 before).
 * At dim 64 with row-wise Adagrad (260-byte rows) a pinned copy at 55 GB/s moves 212 M rows/s;
 * 70% of it leaves the host about 6.7 ns a row.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Xmx1g")
public class RowSlotMapBench {
    static final int ROWS = 262_144;

    /** Row ids: "stride" = 7i + 3 (the GPU bench's), "random" = uniform below {@link RowSlotMap#ROW_LIMIT} (2^32 - 1). */
    @Param({"stride", "random"})
    public String ids;
    @Param({"2", "4"})
    public int room;

    private RowSlotMap map;
    private long[] rows;
    private int[] slots;
    private int[] out;

    @Setup(Level.Trial)
    public void setUp() {
        rows = new long[ROWS];
        slots = new int[ROWS];
        out = new int[ROWS];
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(42);
        for (int i = 0; i < ROWS; i++) {
            rows[i] = "stride".equals(ids) ? 7L * i + 3 : rnd.nextLong(RowSlotMap.ROW_LIMIT);
            slots[i] = ROWS - 1 - i;
        }
        map = new RowSlotMap(ROWS, room);
    }

    @Benchmark
    @OperationsPerInvocation(ROWS)
    public int putOneByOne() {
        int s = 0;
        for (int i = 0; i < ROWS; i++) {
            map.putIfAbsent(rows[i], slots[i]);
        }
        for (int i = 0; i < ROWS; i++) {
            s += map.remove(rows[i]);
        }
        return s;
    }

    @Benchmark
    @OperationsPerInvocation(ROWS / 8)
    public int moveEighth() {
        if (map.size() == 0) {
            for (int i = 0; i < ROWS; i++) {
                map.putIfAbsent(rows[i], slots[i]);
            }
        }
        int s = 0;
        for (int i = 0; i < ROWS; i += 8) {
            s += map.remove(rows[i]);
        }
        for (int i = 0; i < ROWS; i += 8) {
            map.putIfAbsent(rows[i], slots[i]);
        }
        return s;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        map.close();
    }
}

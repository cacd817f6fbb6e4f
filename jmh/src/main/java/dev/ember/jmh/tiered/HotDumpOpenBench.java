package dev.ember.jmh.tiered;

import dev.ember.cache.durability.HotDump;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a hot dump costs at the other end: one op = {@link Store#open} (then close) of a cleanly
 * closed store whose last checkpoint dumped {@code dumpRows} rows (drawn uniformly from 4 tables of
 * {@code rows} rows, dim 16, SGD): the dump is checked whole, its rows put into the tables (with
 * pre-images) and a checkpoint of the same state retires it. {@code dumpRows=0} is the open of a
 * store without a dump. The store folder is copied afresh before each op (untimed).
 *
 * <p>{@code ./ember bench HotDumpOpenBench}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, batchSize = 1)
@Measurement(iterations = 4, batchSize = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class HotDumpOpenBench {
    @Param({"0", "100000", "400000"})
    public int dumpRows;
    @Param({"500000"})
    public int rows;

    private static final int TABLES = 4;
    private static final int DIM = 16;

    private Path dir;
    private Path pristine;
    private Path work;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("ember-dump-open");
        pristine = dir.resolve("pristine");
        work = dir.resolve("work");
        List<TableSpec> specs = new ArrayList<>();
        for (int t = 0; t < TABLES; t++) {
            specs.add(new TableSpec("t" + t, rows, DIM, Optimizer.SGD));
        }
        try (Store s = Store.create(pristine, StoreConfig.builder().tables(specs).seed(1).threads(1).jmx(false).build())) {
            int rowBytes = specs.get(0).layout().bytesPerRow();
            SplittableRandom r = new SplittableRandom(4);
            int per = dumpRows / TABLES;
            HotDump.Source source = out -> {
                int block = 8192;
                long[] ids = new long[block];
                ByteBuffer bytes = ByteBuffer.allocateDirect(block * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
                for (int t = 0; t < TABLES; t++) {
                    long[] drawn = r.longs(per * 2L, 0, rows).distinct().limit(per).sorted().toArray();
                    for (int from = 0; from < drawn.length; from += block) {
                        int n = Math.min(block, drawn.length - from);
                        System.arraycopy(drawn, from, ids, 0, n);
                        for (int i = 0; i < n * DIM; i++) {
                            bytes.putFloat(4 * i, (float) r.nextGaussian());
                        }
                        out.rows(t, ids, n, bytes);
                    }
                }
            };
            s.checkpoint(1, new long[0], Map.of(), dumpRows == 0 ? null : source);
        }
    }

    @Setup(Level.Invocation)
    public void copy() throws IOException {
        delete(work);
        Files.createDirectories(work);
        try (Stream<Path> files = Files.list(pristine)) {
            for (Path f : files.toList()) {
                Files.copy(f, work.resolve(f.getFileName()));
            }
        }
    }

    @Benchmark
    public long open() {
        try (Store s = Store.open(work, StoreConfig.builder().threads(1).jmx(false).build())) {
            return s.lastCheckpoint().epoch();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        delete(dir);
    }

    private static void delete(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> files = Files.walk(p)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}

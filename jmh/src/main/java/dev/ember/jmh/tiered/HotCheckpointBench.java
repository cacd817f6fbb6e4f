package dev.ember.jmh.tiered;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.hot.HotBatch;
import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.tiered.DirtyRowDump;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceSelector;
import dev.ember.gpu.pool.SlotPool;
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
import org.roaringbitmap.RoaringBitmap;

/**
 * One op = a checkpoint of a store whose hot tier holds {@code hotRows} rows, every one dirty
 * (they are updated in the untimed setup before each checkpoint, as training does):
 * <ul>
 *   <li>{@code method=writeBack}: how checkpoints worked before the hot dump: read the hot rows
 *       in chunks, put the dirty ones into the Chronicle tables (a random put and a pre-image
 *       each), mark them clean, then force the tables and replace the manifest;</li>
 *   <li>{@code method=dump}: {@link DirtyRowDump}: the same chunked read, the dirty rows
 *       appended to one sequential file that is forced before the manifest names it.</li>
 * </ul>
 * Hot rows are drawn uniformly from 4 tables of {@code rows} rows, dim 16, SGD (64-byte rows).
 *
 * <p>{@code ./ember bench HotCheckpointBench -p backend=host}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, batchSize = 1)
@Measurement(iterations = 5, batchSize = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx3g", "-XX:MaxDirectMemorySize=3g"})
public class HotCheckpointBench {
    @Param({"host"})
    public String backend;
    @Param({"writeBack", "dump"})
    public String method;
    @Param({"100000", "400000"})
    public int hotRows;
    @Param({"500000"})
    public int rows;

    private static final int TABLES = 4;
    private static final int DIM = 16;
    private static final int CHUNK = 8192;

    private Path dir;
    private Store store;
    private Device device;
    private SlotPool pool;
    private int[] handle;
    private HotSet hot;
    private long[][] hotIds;
    private HotBatch batch;
    private PooledBatch ids;
    private DedupedIds dedup;
    private float[] grads;
    private float[] pooled;
    private DirtyRowDump dump;
    private final long[] chunkIds = new long[CHUNK];
    private final boolean[] dirty = new boolean[CHUNK];
    private final long[] dirtyIds = new long[CHUNK];
    private ByteBuffer chunkBuf;
    private ByteBuffer dirtyBuf;
    private long step;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("ember-hot-checkpoint");
        List<TableSpec> specs = new ArrayList<>();
        for (int t = 0; t < TABLES; t++) {
            specs.add(new TableSpec("t" + t, rows, DIM, Optimizer.SGD));
        }
        store = Store.create(dir.resolve("store"), StoreConfig.builder().tables(specs).seed(1).threads(1).jmx(false).build());
        device = DeviceSelector.open(backend);
        int rowBytes = specs.get(0).layout().bytesPerRow();
        pool = new SlotPool(device, specs.get(0).layout(), (long) (hotRows + 1) * (rowBytes + 8));
        pool.resize((long) hotRows * pool.bytesPerSlot() + pool.bytesPerSlot());
        handle = new int[TABLES];
        RoaringBitmap[] maps = new RoaringBitmap[TABLES];
        SplittableRandom r = new SplittableRandom(9);
        for (int t = 0; t < TABLES; t++) {
            handle[t] = pool.addTable(specs.get(t));
            maps[t] = new RoaringBitmap();
            while (maps[t].getCardinality() < hotRows / TABLES) {
                maps[t].add(r.nextInt(rows));
            }
        }
        hotIds = new long[TABLES][];
        ByteBuffer initial = ByteBuffer.allocateDirect(CHUNK * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int t = 0; t < TABLES; t++) {
            hotIds[t] = maps[t].stream().asLongStream().toArray();
            for (int from = 0; from < hotIds[t].length; from += CHUNK) {
                int n = Math.min(CHUNK, hotIds[t].length - from);
                System.arraycopy(hotIds[t], from, chunkIds, 0, n);
                store.tables().get(t).gather(chunkIds, n, initial);
                pool.promote(handle[t], chunkIds, n, initial);
            }
        }
        hot = HotSet.of(0, specs, maps);
        batch = pool.newBatch(CHUNK, CHUNK);
        ids = new PooledBatch(CHUNK, CHUNK);
        dedup = new DedupedIds();
        grads = new float[CHUNK * DIM];
        pooled = new float[CHUNK * DIM];
        for (int i = 0; i < grads.length; i++) {
            grads[i] = (float) (r.nextDouble() - 0.5) * 1e-3f;
        }
        dump = new DirtyRowDump(pool, handle, CHUNK);
        chunkBuf = ByteBuffer.allocateDirect(CHUNK * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
        dirtyBuf = ByteBuffer.allocateDirect(CHUNK * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
        store.checkpoint(step++, new long[0], Map.of());
    }

    /** Training between checkpoints: every hot row updated once (so every one is dirty). */
    @Setup(Level.Invocation)
    public void train() {
        for (int t = 0; t < TABLES; t++) {
            for (int from = 0; from < hotIds[t].length; from += CHUNK) {
                int n = Math.min(CHUNK, hotIds[t].length - from);
                System.arraycopy(hotIds[t], from, chunkIds, 0, n);
                ids.setOneHot(chunkIds, n);
                dedup.build(ids);
                pool.gather(handle[t], ids, batch);
                batch.writeGradients(grads, n);
                pool.apply(handle[t], dedup, batch, 0.01f, 1e-8f);
            }
        }
        pool.sync();
    }

    @Benchmark
    public long checkpoint() {
        if (method.equals("dump")) {
            store.checkpoint(step++, new long[0], Map.of(), dump.scanning(hot));
            return dump.lastRows();
        }
        long written = 0;
        for (int t = 0; t < TABLES; t++) {
            for (int from = 0; from < hotIds[t].length; from += CHUNK) {
                int n = Math.min(CHUNK, hotIds[t].length - from);
                System.arraycopy(hotIds[t], from, chunkIds, 0, n);
                pool.read(handle[t], chunkIds, n, chunkBuf, dirty);
                int d = 0;
                for (int k = 0; k < n; k++) {
                    if (dirty[k]) {
                        dirtyIds[d] = chunkIds[k];
                        dirtyBuf.put(d * 64, chunkBuf, k * 64, 64);
                        d++;
                    }
                }
                if (d > 0) {
                    store.tables().get(t).put(dirtyIds, d, dirtyBuf);
                    pool.clearDirty(handle[t], dirtyIds, d);
                }
                written += d;
            }
        }
        store.checkpoint(step++, new long[0], Map.of());
        return written;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        batch.close();
        pool.close();
        device.close();
        store.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}

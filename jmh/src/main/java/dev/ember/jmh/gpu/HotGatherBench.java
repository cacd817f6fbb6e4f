package dev.ember.jmh.gpu;

import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceBuffer;
import dev.ember.gpu.device.Kernel;
import dev.ember.gpu.device.KernelSources;
import dev.ember.gpu.device.PinnedBuffer;
import dev.ember.gpu.device.Stream;
import org.openjdk.jmh.annotations.AuxCounters;
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

import java.nio.IntBuffer;
import java.util.concurrent.TimeUnit;

/**
 * The pooled gather kernel on device-resident indices, against the device's own
 * device-to-device copy of the same number of bytes, in the same run.
 *
 * <p>{@code gather}: {@code bags} one-hot bags over slots drawn from a pool of {@code poolSlots}
 * ({@code uniform}: every slot distinct, so no cache flatters it; {@code zipf}: s = 1.05, hot
 * rows repeat). Bytes per launch = rows read + pooled rows written + indices read
 * ({@code bags * (8 * dim + 8)}). {@code copy}: one device-to-device copy of the same bytes
 * counted as read + write. The aux counter {@code bytes} is the achieved bytes/s of each; the
 * target is gather >= 80% of copy at dim 64.
 *
 * <p>Run on the GPU machine: {@code java -jar benchmarks.jar HotGatherBench -p backend=cuda}.
 * Here: {@code -p backend=host,opencl -p poolSlots=1048576 -p bags=1048576 -p dim=64}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class HotGatherBench {
    @Param({"cuda"})
    public String backend;
    @Param({"16", "64", "128"})
    public int dim;
    @Param({"uniform", "zipf"})
    public String draw;
    @Param({"4194304"})
    public int poolSlots;
    @Param({"1048576"})
    public int bags;
    /** Threads per block of the gather launch (the pool uses 128, the best of 64-512 on an H200). */
    @Param({"128"})
    public int block;

    private Device device;
    private Stream stream;
    private DeviceBuffer weights;
    private DeviceBuffer slots;
    private DeviceBuffer offsets;
    private DeviceBuffer out;
    private DeviceBuffer copySrc;
    private DeviceBuffer copyDst;
    private Kernel gather;
    private int lanes;
    private long gatherBytes;
    private long copyBytes;

    /** Achieved bytes per second, reported next to ops/s. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Bytes {
        public long bytes;

        @Setup(Level.Iteration)
        public void reset() {
            bytes = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        device = Backends.open(backend);
        stream = device.defaultStream();
        if (bags > poolSlots && "uniform".equals(draw)) {
            throw new IllegalArgumentException("uniform draws need bags <= poolSlots");
        }
        int[] ids = "uniform".equals(draw) ? Backends.uniqueUniform(bags, poolSlots, 1) : Backends.zipf(bags, poolSlots, 1.05, 1);
        weights = device.allocate(4L * dim * poolSlots);
        device.fill(weights, 0, weights.bytes(), (byte) 0x3C, stream);
        slots = device.allocate(4L * bags);
        offsets = device.allocate(4L * (bags + 1));
        out = device.allocate(4L * dim * bags);
        try (PinnedBuffer stage = device.allocatePinned(4L * (bags + 1))) {
            IntBuffer b = stage.buffer().asIntBuffer();
            b.put(ids);
            device.copyToDevice(stage, 0, slots, 0, 4L * bags, stream);
            stream.synchronize();
            for (int i = 0; i <= bags; i++) {
                b.put(i, i);
            }
            device.copyToDevice(stage, 0, offsets, 0, 4L * (bags + 1), stream);
            stream.synchronize();
        }
        boolean wide = (dim & 3) == 0;
        lanes = Math.min(32, wide ? dim / 4 : dim);
        gather = device.kernel(wide ? KernelSources.GATHER_F4 : KernelSources.GATHER_F1);
        gather.arg(0, weights).arg(1, dim).arg(2, slots).arg(3, offsets).arg(4, bags).arg(5, out).arg(6, lanes);
        gatherBytes = (long) bags * (8L * dim + 8);
        long half = gatherBytes / 2;
        copySrc = device.allocate(half);
        copyDst = device.allocate(half);
        copyBytes = 2 * half;
    }

    @Benchmark
    public void gather(Bytes counter) {
        gather.launch(stream, (int) ((KernelSources.gatherThreads(bags, lanes) + block - 1) / block), block);
        stream.synchronize();
        counter.bytes += gatherBytes;
    }

    @Benchmark
    public void copy(Bytes counter) {
        device.copy(copySrc, 0, copyDst, 0, copySrc.bytes(), stream);
        stream.synchronize();
        counter.bytes += copyBytes;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (device == null) {
            return;
        }
        for (DeviceBuffer b : new DeviceBuffer[] {weights, slots, offsets, out, copySrc, copyDst}) {
            if (b != null) {
                b.close();
            }
        }
        device.close();
    }
}

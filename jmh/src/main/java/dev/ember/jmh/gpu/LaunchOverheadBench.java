package dev.ember.jmh.gpu;

import dev.ember.gpu.device.CudaDevice;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceBuffer;
import dev.ember.gpu.device.Kernel;
import dev.ember.gpu.device.KernelSources;
import dev.ember.gpu.device.Stream;
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
 * Cost of one kernel launch from Java: {@value #LAUNCHES} launches of a one-thread kernel
 * ({@code ember_set_dirty} on one slot) then one synchronisation, reported per launch.
 * {@code eager}: each launch through the {@link Kernel} launcher (argument block reused).
 * {@code graph}: the same launches captured once into a CUDA graph and replayed by one call
 * (CUDA only; other backends report SKIPPED).
 *
 * <p>{@code java -jar benchmarks.jar LaunchOverheadBench -p backend=cuda}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class LaunchOverheadBench {
    static final int LAUNCHES = 100;

    @Param({"cuda"})
    public String backend;

    private Device device;
    private Stream stream;
    private DeviceBuffer dirty;
    private DeviceBuffer slot;
    private Kernel kernel;
    private CudaDevice.CudaGraph graph;

    @Setup(Level.Trial)
    public void setUp() {
        device = Backends.open(backend);
        stream = device.defaultStream();
        dirty = device.allocate(16);
        slot = device.allocate(16);
        device.fill(slot, 0, 16, (byte) 0, stream);
        kernel = device.kernel(KernelSources.SET_DIRTY);
        kernel.arg(0, dirty).arg(1, slot).arg(2, 1).arg(3, 1);
        stream.synchronize();
    }

    @Benchmark
    @OperationsPerInvocation(LAUNCHES)
    public void eager() {
        for (int i = 0; i < LAUNCHES; i++) {
            kernel.launch(stream, 1, 32);
        }
        stream.synchronize();
    }

    @Benchmark
    @OperationsPerInvocation(LAUNCHES)
    public void graph() {
        if (graph == null) {
            if (!(device instanceof CudaDevice)) {
                throw new IllegalStateException("SKIPPED: CUDA graphs need -p backend=cuda, this run is " + backend);
            }
            graph = ((CudaDevice) device).capture(stream, () -> {
                for (int i = 0; i < LAUNCHES; i++) {
                    kernel.launch(stream, 1, 32);
                }
            });
        }
        graph.launch(stream);
        stream.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (graph != null) {
            graph.close();
        }
        if (dirty != null) {
            dirty.close();
            slot.close();
        }
        if (device != null) {
            device.close();
        }
    }
}

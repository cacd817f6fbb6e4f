package dev.ember.gpu.device;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;

import static dev.ember.gpu.device.UnsafeMemory.UNSAFE;

/**
 * The device for machines without an accelerator: "device" memory is off-heap host memory and
 * kernels are Java loops ({@link HostKernels}) with the kernels' exact arithmetic. Work runs when
 * issued, so streams and events are trivially complete.
 *
 * <p>A memory limit makes budgets behave as on a card: allocations beyond it fail with
 * {@link DeviceMemoryException}.
 */
public final class HostDevice implements Device {
    private final long limit;
    private final AtomicLong allocated = new AtomicLong();
    private final Stream stream = new HostStream();
    private final DeviceCalls calls = new DeviceCalls();
    private final Event done = new HostEvent();

    /** A host device limited to the machine's physical memory. */
    public HostDevice() {
        this(physicalMemory());
    }

    /** A host device that hands out at most {@code memoryLimit} bytes. */
    public HostDevice(long memoryLimit) {
        if (memoryLimit <= 0) {
            throw new IllegalArgumentException("host device memory limit must be > 0, got " + memoryLimit);
        }
        this.limit = memoryLimit;
    }

    @Override
    public Backend backend() {
        return Backend.HOST;
    }

    @Override
    public String name() {
        return "host (" + Runtime.getRuntime().availableProcessors() + " cores, Java loops)";
    }

    @Override
    public long freeMemory() {
        return limit - allocated.get();
    }

    @Override
    public long totalMemory() {
        return limit;
    }

    @Override
    public DeviceBuffer allocate(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("buffer size must be > 0, got " + bytes);
        }
        long now = allocated.addAndGet(bytes);
        if (now > limit) {
            allocated.addAndGet(-bytes);
            throw new DeviceMemoryException("host device: " + bytes + " bytes asked, " + (limit - now + bytes)
                    + " of " + limit + " free");
        }
        try {
            return new HostBuffer(UnsafeMemory.allocate(bytes, "a host device buffer"), bytes);
        } catch (DeviceMemoryException e) {
            allocated.addAndGet(-bytes);
            throw e;
        }
    }

    @Override
    public PinnedBuffer allocatePinned(long bytes) {
        if (bytes <= 0 || bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("staging size must be in 1.." + Integer.MAX_VALUE + ", got " + bytes);
        }
        ByteBuffer b = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
        return new DirectPinnedBuffer(b);
    }

    @Override
    public Stream defaultStream() {
        return stream;
    }

    @Override
    public Stream newStream() {
        return new HostStream();
    }

    @Override
    public Kernel kernel(String name) {
        return new HostKernels.Launcher(name, calls);
    }

    @Override
    public void copyToDevice(PinnedBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes, Stream s) {
        Bounds.check(src.bytes(), srcOffset, bytes, "source staging");
        calls.toDevice(bytes);
        UNSAFE.copyMemory(src.address() + srcOffset, address(dst, dstOffset, bytes), bytes);
    }

    @Override
    public void copyToHost(DeviceBuffer src, long srcOffset, PinnedBuffer dst, long dstOffset, long bytes, Stream s) {
        Bounds.check(dst.bytes(), dstOffset, bytes, "destination staging");
        calls.toHost(bytes);
        UNSAFE.copyMemory(address(src, srcOffset, bytes), dst.address() + dstOffset, bytes);
    }

    @Override
    public void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes, Stream s) {
        calls.onDevice(bytes);
        UNSAFE.copyMemory(address(src, srcOffset, bytes), address(dst, dstOffset, bytes), bytes);
    }

    @Override
    public void fill(DeviceBuffer dst, long offset, long bytes, byte value, Stream s) {
        calls.onDevice(bytes);
        UNSAFE.setMemory(address(dst, offset, bytes), bytes, value);
    }

    @Override
    public DeviceCalls calls() {
        return calls;
    }

    @Override
    public Event newEvent() {
        return done;
    }

    @Override
    public void synchronize() {
        // Work ran when it was issued.
    }

    @Override
    public void close() {
        // Buffers are freed by their owners.
    }

    /** The address of byte {@code offset} of a host device buffer, range-checked. */
    static long address(DeviceBuffer b, long offset, long bytes) {
        if (!(b instanceof HostBuffer)) {
            throw new IllegalArgumentException("buffer " + b + " does not belong to a host device");
        }
        HostBuffer h = (HostBuffer) b;
        Bounds.check(h.bytes, offset, bytes, "device buffer");
        return h.address() + offset;
    }

    private static long physicalMemory() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean) {
            return ((com.sun.management.OperatingSystemMXBean) os).getTotalMemorySize();
        }
        return Runtime.getRuntime().maxMemory();
    }

    /** Off-heap memory standing in for device memory. */
    final class HostBuffer implements DeviceBuffer {
        private final long bytes;
        private long address;

        HostBuffer(long address, long bytes) {
            this.address = address;
            this.bytes = bytes;
        }

        long address() {
            if (address == 0) {
                throw new IllegalStateException("host device buffer used after close");
            }
            return address;
        }

        @Override
        public long bytes() {
            return bytes;
        }

        @Override
        public Device device() {
            return HostDevice.this;
        }

        @Override
        public void close() {
            if (address != 0) {
                UnsafeMemory.free(address);
                address = 0;
                allocated.addAndGet(-bytes);
            }
        }

        @Override
        public String toString() {
            return "HostBuffer[" + bytes + " B]";
        }
    }

    private static final class HostStream implements Stream {
        @Override
        public void waitFor(Event event) {
            // Work ran when it was issued.
        }

        @Override
        public void synchronize() {
            // Work ran when it was issued.
        }

        @Override
        public void close() {
            // Nothing held.
        }
    }

    private static final class HostEvent implements Event {
        @Override
        public void record(Stream stream) {
            // Work ran when it was issued.
        }

        @Override
        public void synchronize() {
            // Work ran when it was issued.
        }

        @Override
        public boolean isDone() {
            return true; // work ran when it was issued
        }

        @Override
        public void close() {
            // Shared, nothing held.
        }
    }
}

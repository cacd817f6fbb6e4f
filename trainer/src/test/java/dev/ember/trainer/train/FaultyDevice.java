package dev.ember.trainer.train;

import dev.ember.gpu.device.Backend;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceBuffer;
import dev.ember.gpu.device.DeviceException;
import dev.ember.gpu.device.Event;
import dev.ember.gpu.device.Kernel;
import dev.ember.gpu.device.PinnedBuffer;
import dev.ember.gpu.device.Stream;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A real device (the host device) that is lost after a set number of operations (allocations,
 * copies, fills, synchronizations): from then on every such operation throws a
 * {@link DeviceException}, as a GPU that fell off the bus does. Counts operations either way, so a
 * first run with no fault tells how many a run makes.
 */
final class FaultyDevice implements Device {
    private final Device real;
    private final long failAt;
    private final AtomicLong operations;

    FaultyDevice(Device real, long failAt, AtomicLong operations) {
        this.real = real;
        this.failAt = failAt;
        this.operations = operations;
    }

    private void operation() {
        long n = operations.incrementAndGet();
        if (n >= failAt) {
            throw new DeviceException("injected fault: device " + real.name() + " lost at operation " + n);
        }
    }

    @Override
    public Backend backend() {
        return real.backend();
    }

    @Override
    public String name() {
        return real.name();
    }

    @Override
    public long freeMemory() {
        return real.freeMemory();
    }

    @Override
    public long totalMemory() {
        return real.totalMemory();
    }

    @Override
    public DeviceBuffer allocate(long bytes) {
        operation();
        return real.allocate(bytes);
    }

    @Override
    public PinnedBuffer allocatePinned(long bytes) {
        return real.allocatePinned(bytes);
    }

    @Override
    public Stream defaultStream() {
        return real.defaultStream();
    }

    @Override
    public Stream newStream() {
        return real.newStream();
    }

    @Override
    public Kernel kernel(String name) {
        return real.kernel(name);
    }

    @Override
    public void copyToDevice(PinnedBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes, Stream stream) {
        operation();
        real.copyToDevice(src, srcOffset, dst, dstOffset, bytes, stream);
    }

    @Override
    public void copyToHost(DeviceBuffer src, long srcOffset, PinnedBuffer dst, long dstOffset, long bytes, Stream stream) {
        operation();
        real.copyToHost(src, srcOffset, dst, dstOffset, bytes, stream);
    }

    @Override
    public void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes, Stream stream) {
        operation();
        real.copy(src, srcOffset, dst, dstOffset, bytes, stream);
    }

    @Override
    public void fill(DeviceBuffer dst, long offset, long bytes, byte value, Stream stream) {
        operation();
        real.fill(dst, offset, bytes, value, stream);
    }

    @Override
    public Event newEvent() {
        return real.newEvent();
    }

    @Override
    public void synchronize() {
        operation();
        real.synchronize();
    }

    @Override
    public void close() {
        real.close();
    }
}

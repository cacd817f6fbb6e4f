package dev.ember.gpu.device;

/**
 * The host device with events that answer "not done" to the first {@code lag} questions after
 * each record ({@link Event#isDone}), as a card still busy with earlier work does; waiting for
 * one ({@link Event#synchronize}) finds it done. Work itself runs when issued, as on the host
 * device, whose streams ignore events: so only the code that asks instead of waiting sees a
 * difference, on every path where the device would be behind.
 */
public final class LaggingDevice implements Device {
    private final HostDevice real = new HostDevice();
    private final int lag;

    /** Events answer "not done" {@code lag} times after each record. */
    public LaggingDevice(int lag) {
        if (lag < 0) {
            throw new IllegalArgumentException("lag must be >= 0, got " + lag);
        }
        this.lag = lag;
    }

    @Override
    public Backend backend() {
        return real.backend();
    }

    @Override
    public String name() {
        return "lagging " + real.name();
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
        real.copyToDevice(src, srcOffset, dst, dstOffset, bytes, stream);
    }

    @Override
    public void copyToHost(DeviceBuffer src, long srcOffset, PinnedBuffer dst, long dstOffset, long bytes, Stream stream) {
        real.copyToHost(src, srcOffset, dst, dstOffset, bytes, stream);
    }

    @Override
    public void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes, Stream stream) {
        real.copy(src, srcOffset, dst, dstOffset, bytes, stream);
    }

    @Override
    public void fill(DeviceBuffer dst, long offset, long bytes, byte value, Stream stream) {
        real.fill(dst, offset, bytes, value, stream);
    }

    @Override
    public Event newEvent() {
        return new LaggingEvent();
    }

    @Override
    public void synchronize() {
        real.synchronize();
    }

    @Override
    public void close() {
        real.close();
    }

    private final class LaggingEvent implements Event {
        /** Questions left to answer "not done" (0: done). */
        private volatile int notYet;

        @Override
        public void record(Stream stream) {
            notYet = lag;
        }

        @Override
        public void synchronize() {
            notYet = 0;
        }

        @Override
        public synchronized boolean isDone() {
            if (notYet == 0) {
                return true;
            }
            notYet--;
            return false;
        }

        @Override
        public void close() {
            // nothing held
        }
    }
}

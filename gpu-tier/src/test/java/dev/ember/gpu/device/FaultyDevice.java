package dev.ember.gpu.device;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A real device (usually the host device) with faults injected at the {@link Device} boundary.
 * Counts its operations (allocations, copies, fills, synchronizations) and its allocations either
 * way, so a first run without a fault tells how many a run makes. Three faults:
 * <ul>
 *   <li>{@link #lostAt}: from operation {@code n} on every operation throws a
 *       {@link DeviceException}, as a GPU that fell off the bus does (nothing can be read back);</li>
 *   <li>{@link #failsOnceAt}: operation {@code n} alone throws; the device still answers
 *       afterwards (a failed copy or launch that left the context alive);</li>
 *   <li>{@link #outOfMemoryAfter}: every allocation after the first {@code n} throws a
 *       {@link DeviceMemoryException}; everything else still works (the card is full);</li>
 *   <li>{@link #eventsLagging}: events answer "not done" to the first {@code n} questions after
 *       each record ({@link Event#isDone}), as a card still busy with earlier work does; waiting
 *       for one finds it done. On the host device (whose work runs when issued and whose streams
 *       ignore events) only the code that asks instead of waiting sees a difference.</li>
 * </ul>
 * A failing operation throws before it reaches the real device, so it changes nothing there.
 */
public final class FaultyDevice implements Device {
    private enum Fault { LOST, ONCE, OUT_OF_MEMORY, EVENTS_LAG }

    private final Device real;
    private final Fault fault;
    private final long failAt;
    private final AtomicLong operations;
    private final AtomicLong allocations = new AtomicLong();

    private FaultyDevice(Device real, Fault fault, long failAt, AtomicLong operations) {
        this.real = real;
        this.fault = fault;
        this.failAt = failAt;
        this.operations = operations;
    }

    /** Lost at operation {@code failAt} (1-based; {@code Long.MAX_VALUE}: never), counting into {@code operations}. */
    public static FaultyDevice lostAt(Device real, long failAt, AtomicLong operations) {
        return new FaultyDevice(real, Fault.LOST, failAt, operations);
    }

    /** Operation {@code failAt} fails; the ones before and after work. */
    public static FaultyDevice failsOnceAt(Device real, long failAt, AtomicLong operations) {
        return new FaultyDevice(real, Fault.ONCE, failAt, operations);
    }

    /** Allocations after the first {@code allowed} fail as out of memory. */
    public static FaultyDevice outOfMemoryAfter(Device real, long allowed, AtomicLong operations) {
        return new FaultyDevice(real, Fault.OUT_OF_MEMORY, allowed, operations);
    }

    /** Events say "not done" {@code lag} times after each record; nothing fails. */
    public static FaultyDevice eventsLagging(Device real, int lag) {
        if (lag < 0) {
            throw new IllegalArgumentException("lag must be >= 0, got " + lag);
        }
        return new FaultyDevice(real, Fault.EVENTS_LAG, lag, new AtomicLong());
    }

    /** Allocations made so far (those refused included). */
    public long allocations() {
        return allocations.get();
    }

    private void operation() {
        long n = operations.incrementAndGet();
        if (fault == Fault.LOST ? n >= failAt : fault == Fault.ONCE && n == failAt) {
            throw new DeviceException("injected fault: device " + real.name() + (fault == Fault.LOST ? " lost" : " failed")
                    + " at operation " + n);
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
        long n = allocations.incrementAndGet();
        if (fault == Fault.OUT_OF_MEMORY && n > failAt) {
            throw new DeviceMemoryException("injected fault: device " + real.name() + " out of memory allocating " + bytes
                    + " bytes (allocation " + n + ")");
        }
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
    public DeviceCalls calls() {
        return real.calls();
    }

    @Override
    public Event newEvent() {
        Event e = real.newEvent();
        return fault == Fault.EVENTS_LAG ? new LaggingEvent(e, (int) failAt) : e;
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

    /** An event that answers "not done" {@code lag} times after each record (see {@link #eventsLagging}). */
    private static final class LaggingEvent implements Event {
        private final Event real;
        private final int lag;
        /** Questions left to answer "not done" (0: done). */
        private int notYet;

        LaggingEvent(Event real, int lag) {
            this.real = real;
            this.lag = lag;
        }

        @Override
        public synchronized void record(Stream stream) {
            real.record(stream);
            notYet = lag;
        }

        @Override
        public void synchronize() {
            real.synchronize();
            synchronized (this) {
                notYet = 0;
            }
        }

        @Override
        public synchronized boolean isDone() {
            if (notYet == 0) {
                return real.isDone();
            }
            notYet--;
            return false;
        }

        @Override
        public void close() {
            real.close();
        }
    }
}

package dev.ember.gpu.device;

/**
 * An accelerator as the hot tier and the trainer use it: device buffers, pinned host staging,
 * asynchronous copies and kernel launches on streams, events, and memory accounting.
 *
 * <p>Work issued on one {@link Stream} runs in order; different streams may overlap, ordered by
 * {@link Stream#waitFor(Event)}. Host-side arguments of a copy (the pinned buffer's bytes) must
 * stay untouched until the copy is known done (an event or a synchronisation).
 *
 * <p>A device is used by one thread at a time (the caller orders access).
 */
public interface Device extends AutoCloseable {

    /** Which API this device runs on. */
    Backend backend();

    /** The device's own name, e.g. "NVIDIA H100 80GB HBM3" or "pthread-skylake". */
    String name();

    /** Bytes the device can still allocate (for OpenCL: total minus what this process holds). */
    long freeMemory();

    /** The device's memory size in bytes. */
    long totalMemory();

    /** Device memory, uninitialised. Fails with {@link DeviceMemoryException} when none is left. */
    DeviceBuffer allocate(long bytes);

    /** Page-locked host memory for fast asynchronous copies (plain off-heap where none exists). */
    PinnedBuffer allocatePinned(long bytes);

    /** The stream work goes to unless another is given. */
    Stream defaultStream();

    /** A new stream, closed by the caller. */
    Stream newStream();

    /** One of Ember's kernels (see {@code native/.../kernels}); each call returns a new launcher. */
    Kernel kernel(String name);

    void copyToDevice(PinnedBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes, Stream stream);

    void copyToHost(DeviceBuffer src, long srcOffset, PinnedBuffer dst, long dstOffset, long bytes, Stream stream);

    void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes, Stream stream);

    /** Sets {@code bytes} bytes to {@code value}. */
    void fill(DeviceBuffer dst, long offset, long bytes, byte value, Stream stream);

    /** A new event, not yet recorded (waiting on it returns at once); closed by the caller. */
    Event newEvent();

    /** The calls this device was asked to enqueue so far (kernels, graphs, copies). */
    DeviceCalls calls();

    /** Waits for everything issued on every stream. */
    void synchronize();

    @Override
    void close();
}

package dev.ember.gpu.device;

/**
 * A launcher for one kernel. Arguments are set by position (they keep their values between
 * launches, so a caller sets only what changed) and typed as the kernel declares them:
 * {@code int} for int, {@code long} for long long/long, {@code float} for float, a buffer for a
 * pointer. Not thread-safe; a launcher belongs to one caller.
 */
public interface Kernel {

    String name();

    Kernel arg(int index, DeviceBuffer buffer);

    Kernel arg(int index, int value);

    Kernel arg(int index, long value);

    Kernel arg(int index, float value);

    /** Enqueues {@code groups} groups (blocks) of {@code groupSize} threads (work-items). */
    void launch(Stream stream, int groups, int groupSize);
}

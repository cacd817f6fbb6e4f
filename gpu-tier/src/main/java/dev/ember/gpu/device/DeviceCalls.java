package dev.ember.gpu.device;

import java.util.concurrent.atomic.LongAdder;

/**
 * What a device was asked to enqueue: kernel launches, CUDA graph launches, and copies and
 * fills, bumped where each call is made (on any thread) and read by reports. Why: a mode's card
 * time a step beside another's is much about how many small operations it queues.
 */
public final class DeviceCalls {
    private final LongAdder kernels = new LongAdder();
    private final LongAdder graphs = new LongAdder();
    private final LongAdder copies = new LongAdder();

    void kernel() {
        kernels.increment();
    }

    void graph() {
        graphs.increment();
    }

    void copy() {
        copies.increment();
    }

    /** Kernels launched one by one so far (a CUDA graph's once, as it is captured; its replays are {@link #graphs()}). */
    public long kernels() {
        return kernels.sum();
    }

    /** CUDA graphs launched so far. */
    public long graphs() {
        return graphs.sum();
    }

    /** Copies (to the device, to the host, on the device) and fills enqueued so far. */
    public long copies() {
        return copies.sum();
    }
}

package dev.ember.gpu.device;

import java.util.concurrent.atomic.LongAdder;

/**
 * What a device was asked to enqueue: kernel launches, CUDA graph launches, and copies and fills
 * with their bytes each way, bumped where each call is made (on any thread) and read by reports.
 * Why: a mode's card time a step beside another's is in how many operations it queues and how
 * many bytes they move.
 */
public final class DeviceCalls {
    private final LongAdder kernels = new LongAdder();
    private final LongAdder graphs = new LongAdder();
    private final LongAdder copies = new LongAdder();
    private final LongAdder bytesToDevice = new LongAdder();
    private final LongAdder bytesToHost = new LongAdder();
    private final LongAdder bytesOnDevice = new LongAdder();

    void kernel() {
        kernels.increment();
    }

    void graph() {
        graphs.increment();
    }

    void toDevice(long bytes) {
        copies.increment();
        bytesToDevice.add(bytes);
    }

    void toHost(long bytes) {
        copies.increment();
        bytesToHost.add(bytes);
    }

    /** A copy from device memory to device memory, or a fill. */
    void onDevice(long bytes) {
        copies.increment();
        bytesOnDevice.add(bytes);
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

    /** Bytes copied from the host to the device so far. */
    public long bytesToDevice() {
        return bytesToDevice.sum();
    }

    /** Bytes copied from the device to the host so far. */
    public long bytesToHost() {
        return bytesToHost.sum();
    }

    /** Bytes copied or filled within device memory so far. */
    public long bytesOnDevice() {
        return bytesOnDevice.sum();
    }

    /** Every count now. */
    public Counts counts() {
        return new Counts(kernels(), graphs(), copies(), bytesToDevice(), bytesToHost(), bytesOnDevice());
    }

    /** The counts at one moment; {@link #since} gives what was enqueued between two. */
    public record Counts(long kernels, long graphs, long copies, long bytesToDevice, long bytesToHost, long bytesOnDevice) {
        public Counts since(Counts before) {
            return new Counts(kernels - before.kernels, graphs - before.graphs, copies - before.copies,
                    bytesToDevice - before.bytesToDevice, bytesToHost - before.bytesToHost, bytesOnDevice - before.bytesOnDevice);
        }
    }
}

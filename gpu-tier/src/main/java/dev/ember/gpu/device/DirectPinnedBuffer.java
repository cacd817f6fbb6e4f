package dev.ember.gpu.device;

import java.nio.ByteBuffer;

/** Staging memory that is a direct ByteBuffer (host and OpenCL backends). */
final class DirectPinnedBuffer implements PinnedBuffer {
    private final ByteBuffer buffer;
    private final long address;

    DirectPinnedBuffer(ByteBuffer buffer) {
        this.buffer = buffer;
        this.address = UnsafeMemory.address(buffer);
    }

    @Override
    public long bytes() {
        return buffer.capacity();
    }

    @Override
    public long address() {
        return address;
    }

    @Override
    public ByteBuffer buffer() {
        return buffer.duplicate().order(buffer.order()).clear();
    }

    @Override
    public void close() {
        // Freed with the buffer by the garbage collector.
    }
}

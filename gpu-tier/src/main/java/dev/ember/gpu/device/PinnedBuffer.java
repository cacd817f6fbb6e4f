package dev.ember.gpu.device;

import java.nio.ByteBuffer;

/** Page-locked host memory used as a staging area for copies. Native byte order. */
public interface PinnedBuffer extends AutoCloseable {

    long bytes();

    /** The native address of byte 0. */
    long address();

    /** A view of the bytes (position 0, limit {@link #bytes()}, native order); shares memory. */
    ByteBuffer buffer();

    @Override
    void close();
}

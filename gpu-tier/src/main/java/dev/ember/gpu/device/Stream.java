package dev.ember.gpu.device;

/** An in-order queue of device work (a CUDA stream, an OpenCL command queue). */
public interface Stream extends AutoCloseable {

    /** Work issued on this stream after this call starts only when {@code event} has happened. */
    void waitFor(Event event);

    /** Blocks until all work issued on this stream is done. */
    void synchronize();

    /** Releases the stream (a device's default stream ignores this). */
    @Override
    void close();
}

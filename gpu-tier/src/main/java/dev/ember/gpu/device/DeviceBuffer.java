package dev.ember.gpu.device;

/** Memory on a device. Freed by {@link #close()}; using it afterwards is an error. */
public interface DeviceBuffer extends AutoCloseable {

    long bytes();

    Device device();

    @Override
    void close();
}

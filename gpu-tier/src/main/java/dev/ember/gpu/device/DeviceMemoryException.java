package dev.ember.gpu.device;

/** The device could not provide the memory asked for. */
public final class DeviceMemoryException extends DeviceException {
    private static final long serialVersionUID = 1L;

    public DeviceMemoryException(String message) {
        super(message);
    }
}

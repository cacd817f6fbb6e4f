package dev.ember.gpu.device;

/** The APIs a {@link Device} can run on; {@code --device} takes these names or {@code auto}. */
public enum Backend {
    CUDA, OPENCL, HOST;

    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}

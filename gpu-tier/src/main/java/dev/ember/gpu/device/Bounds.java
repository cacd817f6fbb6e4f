package dev.ember.gpu.device;

/** Range checks shared by the backends: a bad offset is an error here, not a crash in a driver. */
final class Bounds {
    private Bounds() {
    }

    static void check(long capacity, long offset, long bytes, String what) {
        if (offset < 0 || bytes < 0 || offset + bytes > capacity) {
            throw new IndexOutOfBoundsException(what + ": range [" + offset + ", " + (offset + bytes)
                    + ") is outside its " + capacity + " bytes");
        }
    }
}

package dev.ember.gpu.device;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;

/** Raw off-heap memory (sun.misc.Unsafe, module jdk.unsupported): host buffers and Java kernels. */
public final class UnsafeMemory {
    public static final sun.misc.Unsafe UNSAFE;
    private static final long ADDRESS_FIELD;

    static {
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            UNSAFE = (sun.misc.Unsafe) f.get(null);
            ADDRESS_FIELD = UNSAFE.objectFieldOffset(java.nio.Buffer.class.getDeclaredField("address"));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private UnsafeMemory() {
    }

    /** Allocates {@code bytes} bytes; an {@link OutOfMemoryError} becomes a {@link DeviceMemoryException}. */
    public static long allocate(long bytes, String what) {
        try {
            return UNSAFE.allocateMemory(Math.max(1, bytes));
        } catch (OutOfMemoryError e) {
            throw new DeviceMemoryException("cannot allocate " + bytes + " bytes of host memory for " + what);
        }
    }

    public static void free(long address) {
        UNSAFE.freeMemory(address);
    }

    /** The native address of a direct buffer's byte 0. */
    public static long address(ByteBuffer direct) {
        if (!direct.isDirect()) {
            throw new IllegalArgumentException("a direct ByteBuffer is needed, got a heap buffer");
        }
        return UNSAFE.getLong(direct, ADDRESS_FIELD);
    }
}

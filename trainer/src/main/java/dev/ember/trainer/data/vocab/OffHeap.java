package dev.ember.trainer.data.vocab;

import sun.misc.Unsafe;

import java.lang.ref.Cleaner;

/**
 * Raw off-heap memory through {@code sun.misc.Unsafe} (as Agrona's UnsafeBuffer): no bounds or
 * scope checks on the hot path, which direct ByteBuffers pay on every access. Callers check
 * their own indices. Blocks are freed by {@link #free} or, failing that, when unreachable.
 */
final class OffHeap {
    static final Unsafe UNSAFE;
    private static final Cleaner CLEANER = Cleaner.create();

    static {
        try {
            java.lang.reflect.Field f = Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            UNSAFE = (Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private OffHeap() {
    }

    /** A block of {@code bytes} zeroed bytes. */
    static final class Block {
        final long address;
        final long bytes;
        private final Cleaner.Cleanable cleanable;

        Block(long bytes) {
            this.bytes = bytes;
            long a = UNSAFE.allocateMemory(Math.max(8, bytes));
            UNSAFE.setMemory(a, Math.max(8, bytes), (byte) 0);
            this.address = a;
            this.cleanable = CLEANER.register(this, () -> UNSAFE.freeMemory(a));
        }

        /** Frees the memory now; the block must not be used again. */
        void free() {
            cleanable.clean();
        }
    }
}

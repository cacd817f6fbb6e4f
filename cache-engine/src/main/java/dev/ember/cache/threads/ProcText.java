package dev.ember.cache.threads;

import java.nio.ByteBuffer;

/** Reading numbers out of a proc file's text in a buffer, without allocating. */
final class ProcText {
    private ProcText() {
    }

    /** The decimal number starting at {@code i} in {@code text} (before {@code end}), or -1 when none starts there. */
    static long number(ByteBuffer text, int i, int end) {
        long v = 0;
        int digits = 0;
        for (; i < end; i++, digits++) {
            byte c = text.get(i);
            if (c < '0' || c > '9') {
                break;
            }
            v = v * 10 + (c - '0');
        }
        return digits == 0 ? -1 : v;
    }
}

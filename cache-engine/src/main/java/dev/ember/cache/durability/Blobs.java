package dev.ember.cache.durability;

import java.io.ByteArrayOutputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Small records built in memory: a manifest's blobs (hot sets, knob, stats, a data position) and
 * the references to its files. Big state goes to a {@link SideFile} instead, streamed.
 */
public final class Blobs {
    private Blobs() {
    }

    /** Writes a record's fields, in order. */
    @FunctionalInterface
    public interface Fields {
        void writeTo(DataOutput out) throws IOException;
    }

    /** The bytes {@code fields} writes (big-endian, as {@link DataOutputStream} writes them). */
    public static byte[] of(Fields fields) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            fields.writeTo(out);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a writer's own: memory does not fail
        }
    }
}

package dev.ember.cache.cold;

import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.bytes.RandomDataInput;
import net.openhft.chronicle.hash.AbstractData;

/**
 * A row's bytes as the value Chronicle Map writes: a heap array wrapped once, filled by the caller
 * before each write. As with {@link RowKey}, handing Chronicle a {@code Data} of our own spares
 * the reference counting of {@code wrapValueBytesAsData} at every write. One thread at a time.
 */
final class RowValue extends AbstractData<byte[]> {
    private final byte[] bytes;
    private final BytesStore<?, byte[]> store;

    RowValue(int rowBytes) {
        bytes = new byte[rowBytes];
        store = BytesStore.wrap(bytes);
    }

    /** The array a caller fills before a write. */
    byte[] array() {
        return bytes;
    }

    @Override
    public RandomDataInput bytes() {
        return store;
    }

    @Override
    public long offset() {
        return 0;
    }

    @Override
    public long size() {
        return bytes.length;
    }

    @Override
    public byte[] get() {
        return bytes.clone();
    }

    @Override
    public byte[] getUsing(byte[] using) {
        if (using == null || using.length != bytes.length) {
            return bytes.clone();
        }
        System.arraycopy(bytes, 0, using, 0, bytes.length);
        return using;
    }
}

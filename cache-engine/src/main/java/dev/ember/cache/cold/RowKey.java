package dev.ember.cache.cold;

import net.openhft.chronicle.algo.hashing.LongHashFunction;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.bytes.RandomDataInput;
import net.openhft.chronicle.core.values.LongValue;
import net.openhft.chronicle.hash.AbstractData;
import net.openhft.chronicle.values.Values;

/**
 * A row id as Chronicle Map's key: its 8 stored bytes (little-endian, as the map's
 * {@code LongValue} keys are written) in a native store of its own, rewritten per lookup.
 *
 * <p>Why a {@code Data} of our own: with {@code queryContext(BytesStore, offset, size)} Chronicle
 * wraps the given store in its context's key bytes at every query and unwraps it at close, and
 * each wrap reserves and releases the store's reference count: a quarter of the cold tier's CPU in
 * a JFR profile of {@code cache} mode on the H200 host. A query given a {@code Data} reads it in place.
 * Confined to one thread at a time, like the scratch it belongs to.
 */
final class RowKey extends AbstractData<LongValue> {
    private final BytesStore<?, Void> bytes = BytesStore.nativeStoreWithFixedCapacity(Long.BYTES);

    /** Makes this the key of row {@code id}; returns it for the query. */
    RowKey of(long id) {
        bytes.writeLong(0, id);
        return this;
    }

    @Override
    public RandomDataInput bytes() {
        return bytes;
    }

    @Override
    public long offset() {
        return 0;
    }

    @Override
    public long size() {
        return Long.BYTES;
    }

    /**
     * The hash of the key's 8 bytes, computed from the long itself: the same value as Chronicle's
     * default (the function run over the bytes, read one bounds-checked access at a time), which
     * was a fifth of the write-behind's CPU in a JFR profile of {@code cache} on the H200 host.
     * {@link LongHashFunction#hashLong} is defined as the hash of the value's bytes in native
     * order, which is how {@link #of} stores them.
     */
    @Override
    public long hash(LongHashFunction f) {
        return f.hashLong(bytes.readLong(0));
    }

    @Override
    public LongValue get() {
        return getUsing(null);
    }

    @Override
    public LongValue getUsing(LongValue using) {
        LongValue v = using != null ? using : Values.newHeapInstance(LongValue.class);
        v.setValue(bytes.readLong(0));
        return v;
    }

    /** Frees the native store; the key is unusable afterwards. */
    void release() {
        bytes.releaseLast();
    }
}

package dev.ember.cache.cold;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.SplittableRandom;
import net.openhft.chronicle.algo.bytes.Access;
import net.openhft.chronicle.algo.hashing.LongHashFunction;
import org.junit.jupiter.api.Test;

/** A row key hashes as Chronicle hashes its bytes, so the map files stay readable either way. */
class RowKeyTest {
    private static final List<LongHashFunction> FUNCTIONS = List.of(LongHashFunction.xx_r39(),
            LongHashFunction.xx_r39(0x9E3779B97F4A7C15L), LongHashFunction.city_1_1(), LongHashFunction.murmur_3());

    @Test
    void hashOfTheIdIsTheHashOfItsStoredBytes() {
        RowKey key = new RowKey();
        try {
            SplittableRandom random = new SplittableRandom(17);
            long[] edges = {0, 1, -1, Long.MIN_VALUE, Long.MAX_VALUE, 255, 256, 1L << 32};
            for (int i = 0; i < 20_000; i++) {
                long id = i < edges.length ? edges[i] : i % 2 == 0 ? random.nextLong() : random.nextLong(50_000_000);
                key.of(id);
                byte[] little = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(id).array();
                for (LongHashFunction f : FUNCTIONS) {
                    long overBytes = f.hash(key.bytes(), Access.checkedRandomDataInputAccess(), key.offset(), key.size());
                    assertEquals(overBytes, key.hash(f), "row " + id);
                    assertEquals(f.hashBytes(little), key.hash(f), "row " + id + ": the key's bytes are the id little-endian");
                }
            }
        } finally {
            key.release();
        }
    }
}

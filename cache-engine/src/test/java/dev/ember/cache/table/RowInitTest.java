package dev.ember.cache.table;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Initial rows from hoisted column and row keys are the defining formula's, bit for bit. */
class RowInitTest {

    /** The definition, written out: every backend (Java, OpenCL, CUDA) computes exactly this. */
    private static float defined(long seed, int table, long row, int column, float scale) {
        long h = RowInit.mix(seed ^ RowInit.mix(((long) table << 32) ^ column) ^ RowInit.mix(row + 0x632BE59BD9B4E019L));
        float u = (float) (h >>> 40) * 0x1p-24f;
        return (2.0f * u - 1.0f) * scale;
    }

    @Test
    void weightsFromKeysAreTheDefinitionsBitForBit() {
        SplittableRandom rnd = new SplittableRandom(20261127L);
        for (int i = 0; i < 2_000; i++) {
            long seed = rnd.nextLong();
            int table = rnd.nextInt(64);
            long rows = 1 + rnd.nextLong(1L << 34);
            long row = rnd.nextLong(rows);
            int dim = 1 + rnd.nextInt(128);
            float scale = RowInit.scale(rows);
            long[] keys = RowInit.columnKeys(seed, table, dim);
            long rowKey = RowInit.rowKey(row);
            for (int c = 0; c < dim; c++) {
                int want = Float.floatToRawIntBits(defined(seed, table, row, c, scale));
                assertEquals(want, Float.floatToRawIntBits(RowInit.weight(seed, table, row, c, scale)), "weight()");
                assertEquals(want, Float.floatToRawIntBits(RowInit.weight(keys[c], rowKey, scale)), "from keys");
            }
        }
    }

    @Test
    void fillWritesTheWeightsThenZeroState() {
        RowLayout layout = new TableSpec("t", 1000, 16, Optimizer.ADAGRAD).layout();
        float[] out = new float[layout.floatsPerRow() + 3];
        java.util.Arrays.fill(out, Float.NaN);
        RowInit.fill(7L, 3, 999L, layout, RowInit.scale(1000), out, 3);
        for (int c = 0; c < 16; c++) {
            assertEquals(Float.floatToRawIntBits(defined(7L, 3, 999L, c, RowInit.scale(1000))),
                    Float.floatToRawIntBits(out[3 + c]), "column " + c);
        }
        for (int c = 16; c < layout.floatsPerRow(); c++) {
            assertEquals(0.0f, out[3 + c], "state " + c);
        }
        assertEquals(Float.NaN, out[0], "nothing before the offset is written");
    }
}

package dev.ember.cache.table;

/**
 * The value of a row that was never written: a pure function of {@code (seed, table, row, column)}.
 *
 * <p>Weights are uniform in {@code [-scale, scale)} with {@code scale = sqrt(1/rows)} as DLRM
 * initialises embeddings; optimizer state starts at zero. Only integer arithmetic, one exact
 * int-to-float conversion and one rounded multiply are used, so every backend (Java, OpenCL,
 * CUDA) produces the same bits; kernels receive {@link #scale(long)} as an argument.
 */
public final class RowInit {
    private RowInit() {
    }

    /** The initial half-width for a table of {@code rows} rows, rounded once to float. */
    public static float scale(long rows) {
        return (float) Math.sqrt(1.0 / rows);
    }

    /** The initial weight {@code column} of {@code row} in table number {@code table}. */
    public static float weight(long seed, int table, long row, int column, float scale) {
        return weight(columnKey(seed, table, column), rowKey(row), scale);
    }

    /**
     * The part of a weight's hash that depends on the seed, table and column only: a table's
     * initial rows hash each column's key once ({@link #columnKeys}) and each row's once.
     */
    public static long columnKey(long seed, int table, int column) {
        return seed ^ mix(((long) table << 32) ^ column);
    }

    /** {@link #columnKey} of columns {@code 0..dim-1}. */
    public static long[] columnKeys(long seed, int table, int dim) {
        long[] keys = new long[dim];
        for (int c = 0; c < dim; c++) {
            keys[c] = columnKey(seed, table, c);
        }
        return keys;
    }

    /** The part of a weight's hash that depends on the row only. */
    public static long rowKey(long row) {
        return mix(row + 0x632BE59BD9B4E019L);
    }

    /** The weight of the column and row with these keys: {@code weight(seed, table, row, column, scale)}, bit for bit. */
    public static float weight(long columnKey, long rowKey, float scale) {
        long h = mix(columnKey ^ rowKey);
        // Top 24 bits: exactly representable; u in [0, 1), 2u-1 exact in float.
        float u = (float) (h >>> 40) * 0x1p-24f;
        return (2.0f * u - 1.0f) * scale;
    }

    /** Writes the initial row (weights then zero state) into {@code out[offset..]}. */
    public static void fill(long seed, int table, long row, RowLayout layout, float scale, float[] out, int offset) {
        int dim = layout.dim();
        long rowKey = rowKey(row);
        for (int c = 0; c < dim; c++) {
            out[offset + c] = weight(columnKey(seed, table, c), rowKey, scale);
        }
        for (int c = dim, n = layout.floatsPerRow(); c < n; c++) {
            out[offset + c] = 0.0f;
        }
    }

    /** SplitMix64's finaliser: a bijection with good avalanche, cheap on every device. */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}

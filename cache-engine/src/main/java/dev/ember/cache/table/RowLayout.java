package dev.ember.cache.table;

/**
 * The bytes of one stored row: the weights, then the optimizer state, all little-endian fp32.
 *
 * <pre>
 *  0                 4*dim                      4*(dim+state)
 *  +-----------------+--------------------------+
 *  | w[0] .. w[dim-1]| state (0, 1 or dim floats)|
 *  +-----------------+--------------------------+
 * </pre>
 *
 * Tables with the same layout can share one hot slot pool.
 */
public record RowLayout(int dim, Optimizer optimizer) {

    public static RowLayout of(int dim, Optimizer optimizer) {
        return new RowLayout(dim, optimizer);
    }

    public int stateFloats() {
        return optimizer.stateFloats(dim);
    }

    public int floatsPerRow() {
        return dim + stateFloats();
    }

    public int bytesPerRow() {
        return Float.BYTES * floatsPerRow();
    }
}

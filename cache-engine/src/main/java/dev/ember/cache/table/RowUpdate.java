package dev.ember.cache.table;

/**
 * The update arithmetic of {@link Optimizer}, on the host, exactly as its Javadoc fixes it: fp32,
 * no fused multiply-add, sums in the order written. Every backend must produce these bits.
 */
public final class RowUpdate {
    private RowUpdate() {
    }

    /**
     * Updates {@code row} (weights then state, {@code layout.floatsPerRow()} floats) in place
     * with the summed gradient {@code g} ({@code dim} floats).
     */
    public static void apply(RowLayout layout, float[] row, float[] g, float lr, float eps) {
        int dim = layout.dim();
        switch (layout.optimizer()) {
            case SGD:
                for (int c = 0; c < dim; c++) {
                    row[c] = row[c] - (lr * g[c]);
                }
                break;
            case ROWWISE_ADAGRAD: {
                float s = 0.0f;
                for (int c = 0; c < dim; c++) {
                    s = s + (g[c] * g[c]);
                }
                float a = row[dim] + (s / dim);
                row[dim] = a;
                float d = (float) Math.sqrt(a) + eps;
                for (int c = 0; c < dim; c++) {
                    row[c] = row[c] - ((lr * g[c]) / d);
                }
                break;
            }
            case ADAGRAD:
                for (int c = 0; c < dim; c++) {
                    float a = row[dim + c] + (g[c] * g[c]);
                    row[dim + c] = a;
                    row[c] = row[c] - ((lr * g[c]) / ((float) Math.sqrt(a) + eps));
                }
                break;
            default:
                throw new AssertionError(layout.optimizer());
        }
    }
}

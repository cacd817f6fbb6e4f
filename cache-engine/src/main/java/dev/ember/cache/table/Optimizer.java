package dev.ember.cache.table;

/**
 * How a row is updated from its summed gradient, and how much optimizer state it carries.
 * The state is stored right after the row's {@code dim} weights and moves with the row.
 */
public enum Optimizer {
    /** {@code w -= lr * g}. No state. */
    SGD,
    /** One accumulator per row: {@code a += mean(g*g); w -= lr * g / (sqrt(a) + eps)}. */
    ROWWISE_ADAGRAD,
    /** One accumulator per weight: {@code a_i += g_i*g_i; w_i -= lr * g_i / (sqrt(a_i) + eps)}. */
    ADAGRAD;

    /** Floats of optimizer state stored after the {@code dim} weights of a row. */
    public int stateFloats(int dim) {
        switch (this) {
            case SGD: return 0;
            case ROWWISE_ADAGRAD: return 1;
            case ADAGRAD: return dim;
            default: throw new AssertionError(this);
        }
    }
}

package dev.ember.cache.table;

/**
 * How a row is updated from its summed gradient, and how much optimizer state it carries.
 * The state is stored right after the row's {@code dim} weights and moves with the row.
 *
 * <p>The arithmetic is fixed to the operation so that Java, OpenCL and CUDA agree bit for bit:
 * fp32 throughout, no fused multiply-add, correctly rounded divide and sqrt, sums taken in the
 * order written. {@code g} is the row's gradient, already summed over its occurrences in
 * ascending batch position ({@code g = ((0 + g_p0) + g_p1) + ...}).
 * <pre>
 * SGD:             w[c] = w[c] - (lr * g[c])
 * ROWWISE_ADAGRAD: s = 0; for c in 0..dim-1: s = s + (g[c] * g[c])
 *                  a = a + (s / dim)
 *                  d = sqrt(a) + eps
 *                  w[c] = w[c] - ((lr * g[c]) / d)
 * ADAGRAD:         a[c] = a[c] + (g[c] * g[c])
 *                  w[c] = w[c] - ((lr * g[c]) / (sqrt(a[c]) + eps))
 * </pre>
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

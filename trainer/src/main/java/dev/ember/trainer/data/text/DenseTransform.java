package dev.ember.trainer.data.text;

/**
 * Dense features as DLRM feeds them: {@code log(1 + max(x, 0))}, in float32. Computed with
 * {@link StrictMath} so every JVM gives the same bits; small values come from a table.
 */
public final class DenseTransform {
    private static final int TABLE = 1 << 16;
    private static final float[] LOG1P = new float[TABLE];

    static {
        for (int i = 0; i < TABLE; i++) {
            LOG1P[i] = (float) StrictMath.log1p(i);
        }
    }

    private DenseTransform() {
    }

    /** {@code (float) log(1 + max(x, 0))}. */
    public static float apply(long x) {
        if (x <= 0) {
            return 0f;
        }
        if (x < TABLE) {
            return LOG1P[(int) x];
        }
        return (float) StrictMath.log1p((double) x);
    }
}

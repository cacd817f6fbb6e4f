package dev.ember.trainer.model;

/**
 * Initial MLP weights as DLRM's {@code create_mlp} draws them, from a seed: for a layer of
 * {@code n} inputs and {@code m} outputs, weights from {@code normal(0, sqrt(2 / (m + n)))} and
 * biases from {@code normal(0, sqrt(1 / m))}. (DLRM's embeddings, not its MLPs, are the ones
 * drawn uniformly by fan-in; the store's {@code RowInit} does those.)
 *
 * <p>DLRM draws from NumPy's global generator; Ember draws each layer's weights and bias from
 * their own SplitMix64 stream keyed by {@code (seed, layer, part)}, turned normal by Box-Muller
 * in {@link StrictMath}, so the values are the same on every JVM and a layer's values do not
 * change when another layer's width does.
 */
public final class MlpInit {
    private MlpInit() {
    }

    /** Fresh parameters for {@code layout} drawn from {@code seed}. */
    public static float[] parameters(ParameterLayout layout, long seed) {
        float[] p = new float[layout.size()];
        fill(layout, seed, p);
        return p;
    }

    /** Overwrites {@code params} (laid out by {@code layout}) with the initial values of {@code seed}. */
    public static void fill(ParameterLayout layout, long seed, float[] params) {
        for (int l = 0; l < layout.layers(); l++) {
            int n = layout.inputWidth(l);
            int m = layout.outputWidth(l);
            Gaussian w = new Gaussian(seed, l, 0);
            double wStd = Math.sqrt(2.0 / (m + n));
            for (int i = 0, off = layout.weightOffset(l); i < m * n; i++) {
                params[off + i] = (float) (wStd * w.next());
            }
            Gaussian b = new Gaussian(seed, l, 1);
            double bStd = Math.sqrt(1.0 / m);
            for (int i = 0, off = layout.biasOffset(l); i < m; i++) {
                params[off + i] = (float) (bStd * b.next());
            }
        }
    }

    /** Standard normal values: SplitMix64 uniforms through the Box-Muller transform. */
    private static final class Gaussian {
        private long state;
        private double spare;
        private boolean hasSpare;

        Gaussian(long seed, int layer, int part) {
            state = mix(seed ^ mix(0x9E3779B97F4A7C15L * (2L * layer + part + 1)));
        }

        double next() {
            if (hasSpare) {
                hasSpare = false;
                return spare;
            }
            double u1 = (nextLong() >>> 11) * 0x1p-53;
            double u2 = (nextLong() >>> 11) * 0x1p-53;
            double radius = StrictMath.sqrt(-2.0 * StrictMath.log(1.0 - u1)); // 1-u1 in (0, 1]: log is finite
            double angle = 2.0 * StrictMath.PI * u2;
            spare = radius * StrictMath.sin(angle);
            hasSpare = true;
            return radius * StrictMath.cos(angle);
        }

        private long nextLong() {
            state += 0x9E3779B97F4A7C15L;
            return mix(state);
        }

        private static long mix(long z) {
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }
    }
}

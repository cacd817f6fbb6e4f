package dev.ember.trainer.data.gen;

/**
 * Draws ranks {@code 1..n} with {@code P(k) ~ k^-exponent} in O(1) without tables, by
 * rejection-inversion (Hörmann and Derflinger, "Rejection-inversion to generate variates from
 * monotone discrete distributions", 1996). Uses {@link StrictMath} so draws are reproducible.
 */
final class ZipfSampler {
    private final long n;
    private final double exponent;
    private final double hIntegralX1;
    private final double hIntegralN;
    private final double s;

    ZipfSampler(long n, double exponent) {
        if (n < 1) {
            throw new IllegalArgumentException("need at least one element, got " + n);
        }
        if (!(exponent > 0) || exponent > 10) {
            throw new IllegalArgumentException("Zipf exponent must be in (0, 10], got " + exponent + " (set --alpha)");
        }
        this.n = n;
        this.exponent = exponent;
        this.hIntegralX1 = hIntegral(1.5) - 1.0;
        this.hIntegralN = hIntegral(n + 0.5);
        this.s = 2.0 - hIntegralInverse(hIntegral(2.5) - h(2.0));
    }

    long sample(SplitMix rng) {
        while (true) {
            double u = hIntegralN + rng.nextDouble() * (hIntegralX1 - hIntegralN);
            double x = hIntegralInverse(u);
            long k = (long) (x + 0.5);
            if (k < 1) {
                k = 1;
            } else if (k > n) {
                k = n;
            }
            if (k - x <= s || u >= hIntegral(k + 0.5) - h(k)) {
                return k;
            }
        }
    }

    /** The integral of {@link #h} from 1 to x, shifted: ((x^(1-q)) - 1) / (1 - q). */
    private double hIntegral(double x) {
        double logX = StrictMath.log(x);
        return helper2((1.0 - exponent) * logX) * logX;
    }

    private double h(double x) {
        return StrictMath.exp(-exponent * StrictMath.log(x));
    }

    private double hIntegralInverse(double x) {
        double t = x * (1.0 - exponent);
        if (t < -1.0) {
            t = -1.0; // rounding can push it just past the pole
        }
        return StrictMath.exp(helper1(t) * x);
    }

    /** log(1 + x) / x, continuous at 0. */
    private static double helper1(double x) {
        return Math.abs(x) > 1e-8 ? StrictMath.log1p(x) / x : 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
    }

    /** (exp(x) - 1) / x, continuous at 0. */
    private static double helper2(double x) {
        return Math.abs(x) > 1e-8 ? StrictMath.expm1(x) / x : 1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x));
    }
}

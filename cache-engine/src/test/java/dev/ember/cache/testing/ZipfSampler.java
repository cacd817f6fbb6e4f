package dev.ember.cache.testing;

import java.util.SplittableRandom;

/**
 * Draws ranks 1..n with probability proportional to {@code k^-s}, in constant expected time
 * and no table (rejection-inversion, Hoermann and Derflinger 1996), so tables of tens of millions
 * of rows cost nothing to set up.
 */
public final class ZipfSampler {
    private final long n;
    private final double s;
    private final double hIntegralX1;
    private final double hIntegralN;
    private final double sParam;

    public ZipfSampler(long n, double s) {
        if (n < 1 || !(s > 0)) {
            throw new IllegalArgumentException("Zipf needs n >= 1 and s > 0, got n=" + n + " s=" + s);
        }
        this.n = n;
        this.s = s;
        this.hIntegralX1 = hIntegral(1.5) - 1.0;
        this.hIntegralN = hIntegral(n + 0.5);
        this.sParam = 2.0 - hIntegralInverse(hIntegral(2.5) - h(2));
    }

    public long n() {
        return n;
    }

    /** A rank in [1, n]. */
    public long sample(SplittableRandom rnd) {
        while (true) {
            double u = hIntegralN + rnd.nextDouble() * (hIntegralX1 - hIntegralN);
            double x = hIntegralInverse(u);
            long k = (long) (x + 0.5);
            if (k < 1) {
                k = 1;
            } else if (k > n) {
                k = n;
            }
            if (k - x <= sParam || u >= hIntegral(k + 0.5) - h(k)) {
                return k;
            }
        }
    }

    /** The probability of rank k. */
    public double probability(long k, double normaliser) {
        return Math.pow(k, -s) / normaliser;
    }

    /** sum_{k=1..n} k^-s (exact summation; use for n up to a few million). */
    public double normaliser() {
        double sum = 0;
        for (long k = n; k >= 1; k--) {
            sum += Math.pow(k, -s);
        }
        return sum;
    }

    private double h(double x) {
        return Math.exp(-s * Math.log(x));
    }

    /** Integral of t^-s from 1 to x. */
    private double hIntegral(double x) {
        double logX = Math.log(x);
        return helper2((1.0 - s) * logX) * logX;
    }

    private double hIntegralInverse(double u) {
        double t = u * (1.0 - s);
        if (t < -1.0) {
            t = -1.0;
        }
        return Math.exp(helper1(t) * u);
    }

    /** log(1+y)/y, continuous at 0. */
    private static double helper1(double y) {
        return Math.abs(y) > 1e-8 ? Math.log1p(y) / y : 1.0 - y * (0.5 - y * (1.0 / 3.0 - 0.25 * y));
    }

    /** (exp(y)-1)/y, continuous at 0. */
    private static double helper2(double y) {
        return Math.abs(y) > 1e-8 ? Math.expm1(y) / y : 1.0 + y * 0.5 * (1.0 + y / 3.0 * (1.0 + 0.25 * y));
    }
}

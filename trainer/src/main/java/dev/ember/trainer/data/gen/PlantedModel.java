package dev.ember.trainer.data.gen;

import dev.ember.trainer.data.CriteoSchema;

/**
 * The model labels are drawn from, and everything else that makes a generated sample: table
 * sizes, Zipf exponents, how ranks become rows and rows become hex values, row weights, dense
 * feature distributions and drift. Everything is a pure function of the seed and settings, so a
 * test can rebuild the planted logit of any line from its text.
 *
 * <p>Planted logit = {@link #bias()} + {@link #DENSE_WEIGHT} * (dense_0 - {@link #DENSE_CENTER})
 * + sum over {@link #signalTables() signal tables} of {@link #weight(int, int)} of the row (0 for
 * an empty field). Row weights are a fixed normal-like draw per row, centred and scaled so each
 * signal table's term has mean 0 and standard deviation {@link #TABLE_STD} over samples (before
 * empty fields), which puts the planted AUC near 0.78 for Criteo's 25% click rate.
 *
 * <p>Rows: sample rank {@code k} of table {@code t} from Zipf(n_t, alpha_t); its row is
 * {@code k - 1}, except after the drift point where a fraction {@code drift} of ranks (chosen by
 * hash) map to fresh rows {@code n_t + k - 1}: the popular rows change. A row is written as
 * 8 hex digits, a bijection of the row number keyed by (seed, table).
 */
public final class PlantedModel {
    /** Tables carrying signal: the 10 largest Kaggle tables (the 4 largest: 2, 11, 20, 15). */
    private static final int[] SIGNAL = {2, 11, 20, 15, 3, 23, 25, 9, 14, 6};
    /** Tables with empty fields, and how often (Criteo's sparse columns 19, 20, 22, 25, 26). */
    private static final int[] SPARSE_MISSING = {18, 19, 21, 24, 25};
    static final double MISSING_RATE = 0.44;
    /** Each signal table's standard deviation of its logit term over samples. */
    public static final double TABLE_STD = 0.37;
    public static final double DENSE_WEIGHT = 0.2;
    public static final double DENSE_CENTER = 1.5;
    private static final double BIAS = -1.35;
    private static final int EXACT_RANKS = 1 << 20;

    private final long seed;
    private final int[] rows;
    private final double[] alpha;
    private final double drift;
    private final boolean[] signal = new boolean[CriteoSchema.TABLES];
    private final double[] missing = new double[CriteoSchema.TABLES];
    private final double[] zMean = new double[CriteoSchema.TABLES];
    private final double[] zScale = new double[CriteoSchema.TABLES];
    private final int[] k1 = new int[CriteoSchema.TABLES];
    private final int[] k2 = new int[CriteoSchema.TABLES];

    /**
     * @param seed  the seed
     * @param rows  rows per table before drift
     * @param alpha Zipf exponent per table
     * @param drift fraction of ranks that move to fresh rows after the drift point
     */
    public PlantedModel(long seed, int[] rows, double[] alpha, double drift) {
        if (rows.length != CriteoSchema.TABLES || alpha.length != CriteoSchema.TABLES) {
            throw new IllegalArgumentException("need " + CriteoSchema.TABLES + " tables");
        }
        if (!(drift >= 0 && drift <= 1)) {
            throw new IllegalArgumentException("drift must be in [0, 1], got " + drift + " (set --drift)");
        }
        this.seed = seed;
        this.rows = rows.clone();
        this.alpha = alpha.clone();
        this.drift = drift;
        for (int t : SIGNAL) {
            signal[t] = true;
        }
        for (int t : SPARSE_MISSING) {
            missing[t] = MISSING_RATE;
        }
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            if ((long) rows[t] * 2 >= (1L << 32)) {
                throw new IllegalArgumentException("table " + t + " has " + rows[t] + " rows; at most 2^31 (lower --scale)");
            }
            k1[t] = (int) SplitMix.hash(seed, t, 101);
            k2[t] = (int) SplitMix.hash(seed, t, 202);
            if (signal[t]) {
                normalise(t);
            }
        }
    }

    /** Default exponents: per table in [1.05, 1.2], drawn from the seed. */
    public static double[] defaultAlpha(long seed) {
        double[] a = new double[CriteoSchema.TABLES];
        for (int t = 0; t < a.length; t++) {
            a[t] = 1.05 + 0.15 * SplitMix.unit(SplitMix.hash(seed, t, 303));
        }
        return a;
    }

    /** Centres and scales table t's weights over its Zipf distribution (exact over the top ranks). */
    private void normalise(int t) {
        long n = rows[t];
        long m = Math.min(n, EXACT_RANKS);
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double a = alpha[t];
        for (long k = 1; k <= m; k++) {
            double p = StrictMath.pow(k, -a);
            double z = rawZ(t, (int) (k - 1));
            s0 += p;
            s1 += p * z;
            s2 += p * z * z;
        }
        double tail = 0;
        if (n > m) { // integral of x^-a over the rest; those rows' z average 0, square 1
            double lo = m + 0.5;
            double hi = n + 0.5;
            tail = Math.abs(a - 1) < 1e-12 ? StrictMath.log(hi / lo)
                    : (StrictMath.pow(hi, 1 - a) - StrictMath.pow(lo, 1 - a)) / (1 - a);
        }
        double mean = s1 / (s0 + tail);
        double var = (s2 + tail) / (s0 + tail) - mean * mean;
        zMean[t] = mean;
        zScale[t] = TABLE_STD / StrictMath.sqrt(Math.max(var, 1e-6));
    }

    /** A normal-like draw (mean 0, variance 1: four uniforms summed) fixed per row. */
    private double rawZ(int t, int row) {
        long h = SplitMix.hash(seed ^ 0x5DEECE66DL, t, row);
        double sum = (h & 0xffff) + ((h >>> 16) & 0xffff) + ((h >>> 32) & 0xffff) + (h >>> 48);
        return (sum / 65536.0 - 2.0) * 1.7320508075688772;
    }

    /** The planted weight of row {@code row} of table {@code t} (0 outside signal tables). */
    public double weight(int t, int row) {
        return signal[t] ? (rawZ(t, row) - zMean[t]) * zScale[t] : 0.0;
    }

    /**
     * The weight a row of signal table {@code t} would have for the raw draw {@code z} (the
     * standardised sum of four uniforms behind {@link #weight}); 0 outside signal tables.
     */
    public double weightOfDraw(int t, double z) {
        return signal[t] ? (z - zMean[t]) * zScale[t] : 0.0;
    }

    public boolean signal(int t) {
        return signal[t];
    }

    /** The signal tables. */
    public int[] signalTables() {
        return SIGNAL.clone();
    }

    public double bias() {
        return BIAS;
    }

    /** The dense part of the logit from dense feature 0 as the model sees it. */
    public static double denseTerm(float dense0) {
        return DENSE_WEIGHT * (dense0 - DENSE_CENTER);
    }

    /** How often table {@code t}'s field is empty. */
    public double missingRate(int t) {
        return missing[t];
    }

    public int rows(int t) {
        return rows[t];
    }

    public double alpha(int t) {
        return alpha[t];
    }

    public double drift() {
        return drift;
    }

    /** The row of rank {@code k} (1-based) of table {@code t}, before or after the drift point. */
    public int rowOfRank(int t, long k, boolean drifted) {
        int row = (int) (k - 1);
        if (drifted && drift > 0 && SplitMix.unit(SplitMix.hash(seed ^ 0xD1F7L, t, k)) < drift) {
            return rows[t] + row;
        }
        return row;
    }

    /** The hex value (32 bits) a row is written as. */
    public long value(int t, int row) {
        int x = row ^ k1[t];
        x *= 0x9E3779B1;
        x ^= x >>> 15;
        x *= 0x85EBCA77;
        x ^= x >>> 13;
        x += k2[t];
        return x & 0xffffffffL;
    }

    private static final int INV1 = inverse(0x9E3779B1);
    private static final int INV2 = inverse(0x85EBCA77);

    private static int inverse(int odd) {
        int x = odd; // Newton: each step doubles the correct low bits
        for (int i = 0; i < 5; i++) {
            x *= 2 - odd * x;
        }
        return x;
    }

    /** The row a hex value stands for (inverse of {@link #value}). */
    public int rowOfValue(int t, long value) {
        int x = (int) value;
        x -= k2[t];
        x ^= (x >>> 13) ^ (x >>> 26);
        x *= INV2;
        x ^= x >>> 15 ^ (x >>> 30);
        x *= INV1;
        return x ^ k1[t];
    }

    /** Draws integer feature {@code i} (empty fields return {@link Long#MIN_VALUE}). */
    static long dense(int i, SplitMix rng) {
        double miss = 0.05 + 0.03 * (i % 5);
        if (rng.nextDouble() < miss) {
            return Long.MIN_VALUE;
        }
        double z = (rng.nextDouble() + rng.nextDouble() + rng.nextDouble() + rng.nextDouble() - 2.0) * 1.7320508075688772;
        double mu = 0.5 + 0.25 * (i % 9);
        double sd = 1.0 + 0.1 * (i % 7);
        long v = (long) StrictMath.floor(StrictMath.exp(mu + sd * z));
        return i == 1 ? v - 3 : v;
    }
}

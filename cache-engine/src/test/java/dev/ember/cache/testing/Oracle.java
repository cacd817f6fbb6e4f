package dev.ember.cache.testing;

import dev.ember.cache.table.TableSpec;
import java.util.List;

/**
 * The best hot set a knob could pick knowing the true distribution of a {@link ZipfWorkload}:
 * the rows of highest probability per byte within the budget. Every table's probabilities fall
 * with rank, so the choice is the top {@code K_t} ranks of each table; a binary search on the
 * probability threshold finds the largest set that fits.
 */
public final class Oracle {
    private Oracle() {
    }

    /** K_t per table: ranks 1..K_t of table t are hot. */
    public static int[] topRanks(List<TableSpec> tables, double exponent, long budgetBytes) {
        int n = tables.size();
        double[] z = new double[n];
        int[] bytes = new int[n];
        for (int t = 0; t < n; t++) {
            z[t] = new ZipfSampler(tables.get(t).rows(), exponent).normaliser();
            bytes[t] = tables.get(t).layout().bytesPerRow();
        }
        // Gain per byte of rank k in table t: k^-s / z_t / bytes_t. For threshold tau, table t
        // keeps ranks with k <= (tau * z_t * bytes_t)^(-1/s).
        double lo = 0;   // log2 tau with everything hot (too much)
        double hi = 0;
        for (int t = 0; t < n; t++) {
            hi = Math.max(hi, 1.0 / (z[t] * bytes[t]));
        }
        double logLo = Math.log(1e-30);
        double logHi = Math.log(hi) + 1;
        int[] best = new int[n];
        for (int iter = 0; iter < 200; iter++) {
            double mid = 0.5 * (logLo + logHi);
            int[] k = ranksAt(Math.exp(mid), tables, exponent, z, bytes);
            long used = 0;
            for (int t = 0; t < n; t++) {
                used += (long) k[t] * bytes[t];
            }
            if (used <= budgetBytes) {
                best = k;
                logHi = mid;
            } else {
                logLo = mid;
            }
        }
        return best;
    }

    private static int[] ranksAt(double tau, List<TableSpec> tables, double s, double[] z, int[] bytes) {
        int[] k = new int[tables.size()];
        for (int t = 0; t < k.length; t++) {
            double limit = Math.pow(tau * z[t] * bytes[t], -1.0 / s);
            k[t] = (int) Math.min(tables.get(t).rows(), Math.floor(limit));
        }
        return k;
    }

    /** The expected hit rate over lookups (one per table per sample) of the top-K_t ranks. */
    public static double expectedHitRate(List<TableSpec> tables, double exponent, int[] k) {
        double sum = 0;
        for (int t = 0; t < tables.size(); t++) {
            ZipfSampler z = new ZipfSampler(tables.get(t).rows(), exponent);
            double norm = z.normaliser();
            double p = 0;
            for (long r = k[t]; r >= 1; r--) {
                p += Math.pow(r, -exponent);
            }
            sum += p / norm;
        }
        return sum / tables.size();
    }
}

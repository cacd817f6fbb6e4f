package dev.ember.trainer.data.gen;

import java.util.Arrays;

/**
 * Area under the ROC curve: the probability that a random positive scores above a random
 * negative, ties counting one half (Mann-Whitney U with average ranks). O(n log n).
 */
public final class Auc {
    private Auc() {
    }

    /** The AUC of {@code scores[0..n)} against 0/1 {@code labels}; NaN if one class is absent. */
    public static double of(float[] scores, byte[] labels, int n) {
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) {
            float f = scores[i];
            if (Float.isNaN(f)) {
                throw new IllegalArgumentException("score " + i + " is NaN");
            }
            int b = Float.floatToIntBits(f == 0f ? 0f : f); // -0 and +0 tie
            b ^= (b >> 31) & 0x7fffffff; // order negative floats correctly as signed ints
            keys[i] = ((long) b << 32) | i;
        }
        Arrays.sort(keys);
        long positives = 0;
        double rankSum = 0;
        int i = 0;
        while (i < n) {
            int hi = (int) (keys[i] >> 32);
            int j = i;
            long pos = 0;
            while (j < n && (int) (keys[j] >> 32) == hi) {
                pos += labels[(int) keys[j]];
                j++;
            }
            // ranks i+1..j share their average
            rankSum += pos * ((i + 1 + j) / 2.0);
            positives += pos;
            i = j;
        }
        long negatives = n - positives;
        if (positives == 0 || negatives == 0) {
            return Double.NaN;
        }
        return (rankSum - positives * (positives + 1) / 2.0) / ((double) positives * negatives);
    }
}

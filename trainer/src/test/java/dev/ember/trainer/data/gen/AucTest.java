package dev.ember.trainer.data.gen;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AucTest {
    /** Every (positive, negative) pair: 1 if the positive scores higher, 1/2 on a tie. */
    static double bruteForce(float[] s, byte[] y, int n) {
        double wins = 0;
        long pairs = 0;
        for (int i = 0; i < n; i++) {
            if (y[i] != 1) {
                continue;
            }
            for (int j = 0; j < n; j++) {
                if (y[j] != 0) {
                    continue;
                }
                pairs++;
                wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
            }
        }
        return wins / pairs;
    }

    @Test
    void matchesBruteForceWithAndWithoutTies() {
        Random r = new Random(3);
        for (int round = 0; round < 30; round++) {
            int n = 1 + r.nextInt(800);
            float[] s = new float[n];
            byte[] y = new byte[n];
            int levels = round % 3 == 0 ? 5 : 1_000_000; // many ties, or almost none
            for (int i = 0; i < n; i++) {
                s[i] = (r.nextInt(levels) - levels / 2) * 0.37f;
                y[i] = (byte) (r.nextDouble() < 0.3 + 0.4 * (s[i] > 0 ? 1 : 0) ? 1 : 0);
            }
            y[0] = 1;
            if (n > 1) {
                y[1] = 0;
            }
            double fast = Auc.of(s, y, n);
            if (n == 1) {
                assertTrue(Double.isNaN(fast));
            } else {
                assertEquals(bruteForce(s, y, n), fast, 1e-12, "round " + round);
            }
        }
    }

    @Test
    void signedZeroesTieAndNegativesOrder() {
        float[] s = {-0f, 0f, -3f, 2f};
        byte[] y = {1, 0, 0, 1};
        assertEquals(bruteForce(s, y, 4), Auc.of(s, y, 4), 0);
        assertEquals(0.875, Auc.of(s, y, 4), 1e-12); // pairs: tie, win, win, win
    }
}

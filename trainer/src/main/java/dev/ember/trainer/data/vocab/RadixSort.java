package dev.ember.trainer.data.vocab;

/** LSD radix sort of non-negative {@code long} keys carrying an {@code int} payload; stable. */
final class RadixSort {
    private RadixSort() {
    }

    /** Sorts {@code keys[0..n)} ascending, moving {@code payload} along. */
    static void sort(long[] keys, int[] payload, int n) {
        long[] k2 = new long[n];
        int[] p2 = new int[n];
        int[] count = new int[1 << 16];
        long or = 0;
        for (int i = 0; i < n; i++) {
            if (keys[i] < 0) {
                throw new IllegalArgumentException("negative sort key " + keys[i]);
            }
            or |= keys[i];
        }
        long[] ks = keys;
        int[] ps = payload;
        for (int shift = 0; shift < 64 && (or >>> shift) != 0; shift += 16) {
            java.util.Arrays.fill(count, 0);
            for (int i = 0; i < n; i++) {
                count[(int) (ks[i] >>> shift) & 0xffff]++;
            }
            int sum = 0;
            for (int d = 0; d < count.length; d++) {
                int c = count[d];
                count[d] = sum;
                sum += c;
            }
            for (int i = 0; i < n; i++) {
                int d = (int) (ks[i] >>> shift) & 0xffff;
                int at = count[d]++;
                k2[at] = ks[i];
                p2[at] = ps[i];
            }
            long[] tk = ks;
            ks = k2;
            k2 = tk;
            int[] tp = ps;
            ps = p2;
            p2 = tp;
        }
        if (ks != keys) {
            System.arraycopy(ks, 0, keys, 0, n);
            System.arraycopy(ps, 0, payload, 0, n);
        }
    }
}

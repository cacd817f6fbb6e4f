package dev.ember.trainer.model.cpu;

/**
 * The fp32 matrix products of an MLP layer over a range of batch rows. Matrices are arrays of
 * rows ({@code float[rows][cols]}, each row its own array): HotSpot C2 on JDK 17 vectorises
 * {@code c[j] += a * b[j]} only when both arrays are indexed by the same {@code j}; on flat
 * arrays with two different row offsets it falls back to scalar code (measured on the dev box:
 * 8-11 GFLOP/s flat, 42-47 GFLOP/s with row arrays, one thread).
 *
 * <p>Every inner loop runs along a row (i-k-j order), four terms at a time to save loads and
 * stores of the output row. Java evaluates {@code c + a0*b0 + a1*b1 + a2*b2 + a3*b3} left to
 * right and never fuses a multiply-add, so each output is summed in plain ascending {@code k}
 * order whatever the blocking and vector width: results depend only on the data.
 */
final class Gemm {
    /** Output rows that reuse one block of {@code B} while it is in cache. */
    private static final int ROW_BLOCK = 16;
    /** Rows of {@code B} in one block. */
    private static final int K_BLOCK = 128;
    /**
     * Columns in one tile. Measured on the dev box (Kaggle shape, one thread): tiles of 128 or
     * 256 columns cost more in short vector loops than they gain in cache reuse (185 and 150 ms
     * a step of 2048 against 125 ms untiled), so only layers wider than 512 are tiled.
     */
    private static final int COLUMN_TILE = 512;

    private Gemm() {
    }

    /**
     * {@code C[r][0..n) = bias[0..n) + sum_k A[r][k] * B[k][0..n)} for rows {@code r} in
     * {@code [r0, r0 + m)}; {@code bias} may be null (zero). With {@code B = W^T} (in x out) this
     * is a layer's forward pass; with {@code B = W} (out x in) and {@code A = dY}, its input gradient.
     */
    static void multiply(float[][] a, float[][] b, float[] bias, float[][] c, int r0, int m, int k, int n) {
        int end = r0 + m;
        for (int rb = r0; rb < end; rb += ROW_BLOCK) {
            int re = Math.min(end, rb + ROW_BLOCK);
            for (int r = rb; r < re; r++) {
                float[] cr = c[r];
                if (bias == null) {
                    for (int j = 0; j < n; j++) {
                        cr[j] = 0f;
                    }
                } else {
                    System.arraycopy(bias, 0, cr, 0, n);
                }
            }
            for (int j0 = 0; j0 < n; j0 += COLUMN_TILE) {
                int j1 = Math.min(n, j0 + COLUMN_TILE);
                for (int k0 = 0; k0 < k; k0 += K_BLOCK) {
                    int k1 = Math.min(k, k0 + K_BLOCK);
                    for (int r = rb; r < re; r++) {
                        accumulateRow(a[r], b, c[r], k0, k1, j0, j1);
                    }
                }
            }
        }
    }

    /** {@code cr[j] += sum_{k in [k0,k1)} ar[k] * B[k][j]} for {@code j} in {@code [j0, j1)}, in ascending k. */
    private static void accumulateRow(float[] ar, float[][] b, float[] cr, int k0, int k1, int j0, int j1) {
        int kk = k0;
        for (; kk + 3 < k1; kk += 4) {
            float a0 = ar[kk];
            float a1 = ar[kk + 1];
            float a2 = ar[kk + 2];
            float a3 = ar[kk + 3];
            float[] b0 = b[kk];
            float[] b1 = b[kk + 1];
            float[] b2 = b[kk + 2];
            float[] b3 = b[kk + 3];
            for (int j = j0; j < j1; j++) {
                cr[j] = cr[j] + a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
            }
        }
        for (; kk < k1; kk++) {
            float a0 = ar[kk];
            float[] b0 = b[kk];
            for (int j = j0; j < j1; j++) {
                cr[j] = cr[j] + a0 * b0[j];
            }
        }
    }

    /**
     * {@code G[o][0..in) += sum_r D[r][o] * X[r][0..in)} over rows {@code r} in {@code [r0, r0 + m)}
     * ascending: a layer's weight gradient ({@code D = dY}, {@code X} its input) into {@code G}
     * shaped as the weights ({@code out x in}).
     */
    static void accumulateWeightGradient(float[][] d, float[][] x, float[][] g, int r0, int m, int out, int in) {
        int end = r0 + m;
        for (int i0 = 0; i0 < in; i0 += COLUMN_TILE) {
            int i1 = Math.min(in, i0 + COLUMN_TILE);
            int r = r0;
            for (; r + 3 < end; r += 4) {
                float[] d0 = d[r];
                float[] d1 = d[r + 1];
                float[] d2 = d[r + 2];
                float[] d3 = d[r + 3];
                float[] x0 = x[r];
                float[] x1 = x[r + 1];
                float[] x2 = x[r + 2];
                float[] x3 = x[r + 3];
                for (int o = 0; o < out; o++) {
                    float s0 = d0[o];
                    float s1 = d1[o];
                    float s2 = d2[o];
                    float s3 = d3[o];
                    float[] go = g[o];
                    for (int i = i0; i < i1; i++) {
                        go[i] = go[i] + s0 * x0[i] + s1 * x1[i] + s2 * x2[i] + s3 * x3[i];
                    }
                }
            }
            for (; r < end; r++) {
                float[] d0 = d[r];
                float[] x0 = x[r];
                for (int o = 0; o < out; o++) {
                    float s0 = d0[o];
                    float[] go = g[o];
                    for (int i = i0; i < i1; i++) {
                        go[i] = go[i] + s0 * x0[i];
                    }
                }
            }
        }
    }

    /** {@code g[0..n) += sum_r D[r][0..n)} over rows {@code r} in {@code [r0, r0 + m)} ascending: a bias gradient. */
    static void accumulateColumnSums(float[][] d, float[] g, int r0, int m, int n) {
        for (int r = r0; r < r0 + m; r++) {
            float[] dr = d[r];
            for (int j = 0; j < n; j++) {
                g[j] += dr[j];
            }
        }
    }

    /** {@code C[r][j] = max(C[r][j], 0)} for rows {@code [r0, r0 + m)}, columns {@code [0, n)}. */
    static void relu(float[][] c, int r0, int m, int n) {
        for (int r = r0; r < r0 + m; r++) {
            float[] cr = c[r];
            for (int j = 0; j < n; j++) {
                cr[j] = Math.max(cr[j], 0f);
            }
        }
    }

    /** {@code D[r][j] = 0} where the ReLU output {@code Y[r][j]} is 0: the gradient through a ReLU. */
    static void reluBackward(float[][] y, float[][] d, int r0, int m, int n) {
        for (int r = r0; r < r0 + m; r++) {
            float[] yr = y[r];
            float[] dr = d[r];
            for (int j = 0; j < n; j++) {
                dr[j] = yr[j] > 0f ? dr[j] : 0f;
            }
        }
    }
}

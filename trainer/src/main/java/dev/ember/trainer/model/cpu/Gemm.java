package dev.ember.trainer.model.cpu;

/**
 * The fp32 matrix products of an MLP layer over a range of batch rows, on row-major float
 * arrays with leading dimensions ({@code ld*}: floats from one row to the next).
 *
 * <p>Every inner loop runs along a contiguous row (i-k-j order) so the JIT vectorises it, four
 * terms at a time to save loads and stores of the output row. Java evaluates
 * {@code c + a0*b0 + a1*b1 + a2*b2 + a3*b3} left to right, so each output is summed in plain
 * ascending {@code k} order whatever the blocking: results depend only on the data.
 */
final class Gemm {
    /** Rows of the output kept hot together while a block of {@code B} streams past. */
    private static final int ROW_BLOCK = 16;
    /** Rows of {@code B} (the weight side) in one block: 64 x 512 floats = 128 KiB, inside L2. */
    private static final int K_BLOCK = 64;
    /** Rows of the weight gradient updated together: 16 x 512 floats = 32 KiB. */
    private static final int OUT_BLOCK = 16;

    private Gemm() {
    }

    /**
     * {@code C[r][0..n) = bias[0..n) + sum_k A[r][k] * B[k][0..n)} for rows {@code r} in
     * {@code [0, m)}; {@code bias} may be null (zero). With {@code B = W^T} (in x out) this is a
     * layer's forward pass; with {@code B = W} (out x in) and {@code A = dY} its input gradient.
     */
    static void multiply(float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] bias, int biasOff,
                         float[] c, int cOff, int ldc, int m, int k, int n) {
        for (int r0 = 0; r0 < m; r0 += ROW_BLOCK) {
            int r1 = Math.min(m, r0 + ROW_BLOCK);
            for (int r = r0; r < r1; r++) {
                int ci = cOff + r * ldc;
                if (bias == null) {
                    for (int j = 0; j < n; j++) {
                        c[ci + j] = 0f;
                    }
                } else {
                    System.arraycopy(bias, biasOff, c, ci, n);
                }
            }
            for (int k0 = 0; k0 < k; k0 += K_BLOCK) {
                int k1 = Math.min(k, k0 + K_BLOCK);
                for (int r = r0; r < r1; r++) {
                    accumulateRow(a, aOff + r * lda, b, bOff, ldb, c, cOff + r * ldc, k0, k1, n);
                }
            }
        }
    }

    /** {@code c[ci + j] += sum_{k in [k0,k1)} a[ai + k] * B[k][j]}, in ascending k. */
    private static void accumulateRow(float[] a, int ai, float[] b, int bOff, int ldb, float[] c, int ci,
                                      int k0, int k1, int n) {
        int kk = k0;
        for (; kk + 3 < k1; kk += 4) {
            float a0 = a[ai + kk];
            float a1 = a[ai + kk + 1];
            float a2 = a[ai + kk + 2];
            float a3 = a[ai + kk + 3];
            int b0 = bOff + kk * ldb;
            int b1 = b0 + ldb;
            int b2 = b1 + ldb;
            int b3 = b2 + ldb;
            for (int j = 0; j < n; j++) {
                c[ci + j] = c[ci + j] + a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
            }
        }
        for (; kk < k1; kk++) {
            float a0 = a[ai + kk];
            int b0 = bOff + kk * ldb;
            for (int j = 0; j < n; j++) {
                c[ci + j] = c[ci + j] + a0 * b[b0 + j];
            }
        }
    }

    /**
     * {@code G[o][0..in) += sum_r D[r][o] * X[r][0..in)} over rows {@code r} in {@code [0, m)}
     * ascending: a layer's weight gradient ({@code D = dY}, out wide; {@code X} its input), into
     * {@code G} laid out as the weights ({@code out x in}, leading dimension {@code in}).
     */
    static void accumulateWeightGradient(float[] d, int dOff, int ldd, float[] x, int xOff, int ldx,
                                         float[] g, int gOff, int m, int out, int in) {
        for (int o0 = 0; o0 < out; o0 += OUT_BLOCK) {
            int o1 = Math.min(out, o0 + OUT_BLOCK);
            int r = 0;
            for (; r + 3 < m; r += 4) {
                int d0 = dOff + r * ldd;
                int d1 = d0 + ldd;
                int d2 = d1 + ldd;
                int d3 = d2 + ldd;
                int x0 = xOff + r * ldx;
                int x1 = x0 + ldx;
                int x2 = x1 + ldx;
                int x3 = x2 + ldx;
                for (int o = o0; o < o1; o++) {
                    float s0 = d[d0 + o];
                    float s1 = d[d1 + o];
                    float s2 = d[d2 + o];
                    float s3 = d[d3 + o];
                    int gi = gOff + o * in;
                    for (int i = 0; i < in; i++) {
                        g[gi + i] = g[gi + i] + s0 * x[x0 + i] + s1 * x[x1 + i] + s2 * x[x2 + i] + s3 * x[x3 + i];
                    }
                }
            }
            for (; r < m; r++) {
                int d0 = dOff + r * ldd;
                int x0 = xOff + r * ldx;
                for (int o = o0; o < o1; o++) {
                    float s0 = d[d0 + o];
                    int gi = gOff + o * in;
                    for (int i = 0; i < in; i++) {
                        g[gi + i] = g[gi + i] + s0 * x[x0 + i];
                    }
                }
            }
        }
    }

    /** {@code g[0..n) += sum_r D[r][0..n)} over rows {@code r} in {@code [0, m)} ascending: a bias gradient. */
    static void accumulateColumnSums(float[] d, int dOff, int ldd, float[] g, int gOff, int m, int n) {
        for (int r = 0; r < m; r++) {
            int di = dOff + r * ldd;
            for (int j = 0; j < n; j++) {
                g[gOff + j] += d[di + j];
            }
        }
    }

    /** {@code C[r][j] = max(C[r][j], 0)} on an {@code m x n} block. */
    static void relu(float[] c, int cOff, int ldc, int m, int n) {
        for (int r = 0; r < m; r++) {
            int ci = cOff + r * ldc;
            for (int j = 0; j < n; j++) {
                c[ci + j] = Math.max(c[ci + j], 0f);
            }
        }
    }

    /** {@code D[r][j] = 0} where the ReLU output {@code Y[r][j]} is 0: the gradient through a ReLU. */
    static void reluBackward(float[] y, int yOff, int ldy, float[] d, int dOff, int ldd, int m, int n) {
        for (int r = 0; r < m; r++) {
            int yi = yOff + r * ldy;
            int di = dOff + r * ldd;
            for (int j = 0; j < n; j++) {
                d[di + j] = y[yi + j] > 0f ? d[di + j] : 0f;
            }
        }
    }

    /** {@code dst[j][i] = src[i][j]}: {@code src} is {@code rows x cols}, {@code dst} {@code cols x rows}. */
    static void transpose(float[] src, int srcOff, float[] dst, int dstOff, int rows, int cols, int row0, int row1) {
        for (int i = row0; i < row1; i++) {
            int si = srcOff + i * cols;
            for (int j = 0; j < cols; j++) {
                dst[dstOff + j * rows + i] = src[si + j];
            }
        }
    }
}

package dev.ember.trainer.model.cpu;

/**
 * DLRM's "dot" interaction without self terms, in fp32, for the rows of one chunk at once.
 *
 * <p>The {@code n} vectors of each sample (bottom output first, then one pooled embedding per
 * table) are held column-wise so the loops run along the samples and vectorise (dim 16 is too
 * short to vectorise a single dot):
 * <pre>
 *  v[i * dim + d][s]   coordinate d of vector i of sample s          (n*dim rows of m samples)
 *  z[p][s]             dot of pair p of sample s; pairs (i, j < i) ordered by i then j as
 *                      DLRM's li, lj index lists: (1,0), (2,0), (2,1), (3,0), ...
 * </pre>
 * Each dot is summed over {@code d} in ascending order, each gradient over the pairs in the order
 * above, so the bits do not depend on how samples are grouped.
 */
final class DotInteraction {
    private DotInteraction() {
    }

    /** {@code z[p][s] = sum_d v[i*dim+d][s] * v[j*dim+d][s]} for the {@code m} samples. */
    static void forward(float[][] v, int n, int dim, float[][] z, int m) {
        int p = 0;
        for (int i = 1; i < n; i++) {
            for (int j = 0; j < i; j++, p++) {
                float[] zp = z[p];
                float[] a0 = v[i * dim];
                float[] b0 = v[j * dim];
                for (int s = 0; s < m; s++) {
                    zp[s] = a0[s] * b0[s];
                }
                for (int d = 1; d < dim; d++) {
                    float[] a = v[i * dim + d];
                    float[] b = v[j * dim + d];
                    for (int s = 0; s < m; s++) {
                        zp[s] = zp[s] + a[s] * b[s];
                    }
                }
            }
        }
    }

    /**
     * Writes the gradient w.r.t. {@code v} into {@code dv} (same layout, overwritten) from the
     * gradient {@code dz} of the dots: {@code dv[i] += dz[ij] v[j]; dv[j] += dz[ij] v[i]}.
     */
    static void backward(float[][] v, float[][] dz, float[][] dv, int n, int dim, int m) {
        for (int k = 0; k < n * dim; k++) {
            float[] row = dv[k];
            for (int s = 0; s < m; s++) {
                row[s] = 0f;
            }
        }
        int p = 0;
        for (int i = 1; i < n; i++) {
            for (int j = 0; j < i; j++, p++) {
                float[] g = dz[p];
                for (int d = 0; d < dim; d++) {
                    float[] vi = v[i * dim + d];
                    float[] vj = v[j * dim + d];
                    float[] gi = dv[i * dim + d];
                    float[] gj = dv[j * dim + d];
                    for (int s = 0; s < m; s++) {
                        gi[s] += g[s] * vj[s];
                        gj[s] += g[s] * vi[s];
                    }
                }
            }
        }
    }
}

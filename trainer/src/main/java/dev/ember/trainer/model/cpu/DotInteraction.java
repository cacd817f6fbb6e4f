package dev.ember.trainer.model.cpu;

/**
 * DLRM's "dot" interaction without self terms, for one sample, in fp32. The {@code n} vectors
 * (bottom output first, then one pooled embedding per table) sit in a scratch block
 * {@code v[n][dim]}; the output is the dots of every pair {@code (i, j)} with {@code j < i},
 * ordered by {@code i} then {@code j} as DLRM's {@code li, lj} index lists:
 * {@code (1,0), (2,0), (2,1), (3,0), ...}.
 */
final class DotInteraction {
    private DotInteraction() {
    }

    /** Writes the {@code n(n-1)/2} dots of {@code v[n][dim]} (at {@code vOff}) to {@code out[outOff..]}. */
    static void forward(float[] v, int vOff, int n, int dim, float[] out, int outOff) {
        int p = outOff;
        for (int i = 1; i < n; i++) {
            int vi = vOff + i * dim;
            for (int j = 0; j < i; j++) {
                int vj = vOff + j * dim;
                float s = 0f;
                for (int d = 0; d < dim; d++) {
                    s += v[vi + d] * v[vj + d];
                }
                out[p++] = s;
            }
        }
    }

    /**
     * Writes the gradient w.r.t. {@code v[n][dim]} into {@code dv[n][dim]} (overwritten) from the
     * gradient {@code dz} of the dots: {@code dv[i] += dz[ij] v[j]; dv[j] += dz[ij] v[i]}.
     */
    static void backward(float[] v, int vOff, int n, int dim, float[] dz, int dzOff, float[] dv, int dvOff) {
        for (int k = 0; k < n * dim; k++) {
            dv[dvOff + k] = 0f;
        }
        int p = dzOff;
        for (int i = 1; i < n; i++) {
            int vi = vOff + i * dim;
            int gi = dvOff + i * dim;
            for (int j = 0; j < i; j++) {
                float g = dz[p++];
                int vj = vOff + j * dim;
                int gj = dvOff + j * dim;
                for (int d = 0; d < dim; d++) {
                    dv[gi + d] += g * v[vj + d];
                    dv[gj + d] += g * v[vi + d];
                }
            }
        }
    }
}

package dev.ember.trainer.model;

/**
 * A plain float64 DLRM, written for clarity, to check the fast backends against: the same
 * model and parameter layout ({@link ParameterLayout}), straightforward loops, no threads.
 * Each layer type is a static function with its backward pass so tests can check them one by one.
 */
public final class ReferenceDlrm {
    private final ModelConfig config;
    private final ParameterLayout layout;

    public ReferenceDlrm(ModelConfig config) {
        this.config = config;
        this.layout = new ParameterLayout(config);
    }

    /** What a pass over a batch gives. */
    public static final class Result {
        public double loss;
        public double[] logits;
        public double[] parameterGradient;
        /** Per table, {@code batch x dim}. */
        public double[][] embeddingGradient;
    }

    /**
     * Forward (and backward when asked) over {@code batch} samples.
     *
     * @param dense  {@code batch x denseFeatures}
     * @param emb    per table {@code batch x dim}
     * @param labels {@code batch}
     */
    public Result run(double[] params, double[] dense, double[][] emb, double[] labels, int batch, boolean backward) {
        int layers = config.layers();
        int bottom = config.bottomLayers();
        int n = config.interactionVectors();
        int dim = config.dim();
        double[][] inputs = new double[layers][];
        double[][] outputs = new double[layers][];
        double[] vectors = null;
        double[] x = dense;
        for (int l = 0; l < layers; l++) {
            if (l == bottom) {
                vectors = stack(x, emb, batch, dim);
                double[] dots = interaction(vectors, batch, n, dim);
                x = concat(x, dim, dots, config.interactionPairs(), batch);
            }
            inputs[l] = x;
            double[] y = linear(x, batch, layout.inputWidth(l), params, layout.weightOffset(l), layout.biasOffset(l),
                    layout.outputWidth(l));
            if (config.relu(l)) {
                y = relu(y);
            }
            outputs[l] = y;
            x = y;
        }
        Result result = new Result();
        result.logits = x;
        result.loss = logLoss(x, labels, batch);
        if (!backward) {
            return result;
        }
        result.parameterGradient = new double[layout.size()];
        double[] g = logLossBackward(x, labels, batch);
        for (int l = layers - 1; l >= 0; l--) {
            if (config.relu(l)) {
                g = reluBackward(outputs[l], g);
            }
            double[] dx = new double[batch * layout.inputWidth(l)];
            linearBackward(inputs[l], batch, layout.inputWidth(l), params, layout.weightOffset(l), layout.biasOffset(l),
                    layout.outputWidth(l), g, result.parameterGradient, dx);
            g = dx;
            if (l == bottom) {
                int pairs = config.interactionPairs();
                double[] dz = new double[batch * pairs];
                double[] direct = new double[batch * dim];
                for (int r = 0; r < batch; r++) {
                    System.arraycopy(g, r * (dim + pairs), direct, r * dim, dim);
                    System.arraycopy(g, r * (dim + pairs) + dim, dz, r * pairs, pairs);
                }
                double[] dv = interactionBackward(vectors, batch, n, dim, dz);
                result.embeddingGradient = new double[config.tables()][batch * dim];
                for (int r = 0; r < batch; r++) {
                    for (int d = 0; d < dim; d++) {
                        direct[r * dim + d] += dv[(r * n) * dim + d];
                    }
                    for (int t = 0; t < config.tables(); t++) {
                        System.arraycopy(dv, (r * n + t + 1) * dim, result.embeddingGradient[t], r * dim, dim);
                    }
                }
                g = direct;
            }
        }
        return result;
    }

    /** {@code y[r][o] = b[o] + sum_i W[o][i] x[r][i]}, W at {@code wOff} as {@code out x in}. */
    public static double[] linear(double[] x, int rows, int in, double[] p, int wOff, int bOff, int out) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = p[bOff + o];
                for (int i = 0; i < in; i++) {
                    s += p[wOff + o * in + i] * x[r * in + i];
                }
                y[r * out + o] = s;
            }
        }
        return y;
    }

    /** Adds {@code dL/dW}, {@code dL/db} into {@code gradP} and writes {@code dL/dx} into {@code dx} (if not null). */
    public static void linearBackward(double[] x, int rows, int in, double[] p, int wOff, int bOff, int out, double[] dy,
                                      double[] gradP, double[] dx) {
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double g = dy[r * out + o];
                gradP[bOff + o] += g;
                for (int i = 0; i < in; i++) {
                    gradP[wOff + o * in + i] += g * x[r * in + i];
                    if (dx != null) {
                        dx[r * in + i] += g * p[wOff + o * in + i];
                    }
                }
            }
        }
    }

    public static double[] relu(double[] y) {
        double[] out = new double[y.length];
        for (int i = 0; i < y.length; i++) {
            out[i] = Math.max(y[i], 0);
        }
        return out;
    }

    /** The gradient through a ReLU whose output was {@code out}. */
    public static double[] reluBackward(double[] out, double[] dy) {
        double[] dx = new double[dy.length];
        for (int i = 0; i < dy.length; i++) {
            dx[i] = out[i] > 0 ? dy[i] : 0;
        }
        return dx;
    }

    /** Dots of pairs {@code j < i} of {@code v[rows][n][dim]}, ordered by i then j. */
    public static double[] interaction(double[] v, int rows, int n, int dim) {
        int pairs = n * (n - 1) / 2;
        double[] z = new double[rows * pairs];
        for (int r = 0; r < rows; r++) {
            int p = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < i; j++) {
                    double s = 0;
                    for (int d = 0; d < dim; d++) {
                        s += v[(r * n + i) * dim + d] * v[(r * n + j) * dim + d];
                    }
                    z[r * pairs + p++] = s;
                }
            }
        }
        return z;
    }

    public static double[] interactionBackward(double[] v, int rows, int n, int dim, double[] dz) {
        int pairs = n * (n - 1) / 2;
        double[] dv = new double[v.length];
        for (int r = 0; r < rows; r++) {
            int p = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < i; j++) {
                    double g = dz[r * pairs + p++];
                    for (int d = 0; d < dim; d++) {
                        dv[(r * n + i) * dim + d] += g * v[(r * n + j) * dim + d];
                        dv[(r * n + j) * dim + d] += g * v[(r * n + i) * dim + d];
                    }
                }
            }
        }
        return dv;
    }

    /** Mean over the batch of {@code -y log(sigmoid z) - (1-y) log(1 - sigmoid z)}. */
    public static double logLoss(double[] z, double[] y, int rows) {
        double s = 0;
        for (int r = 0; r < rows; r++) {
            double p = 1 / (1 + Math.exp(-z[r]));
            s += -(y[r] * Math.log(p) + (1 - y[r]) * Math.log(1 - p));
        }
        return s / rows;
    }

    public static double[] logLossBackward(double[] z, double[] y, int rows) {
        double[] g = new double[rows];
        for (int r = 0; r < rows; r++) {
            g[r] = (1 / (1 + Math.exp(-z[r])) - y[r]) / rows;
        }
        return g;
    }

    /** {@code v[r][0] = bottom[r]}, {@code v[r][t+1] = emb[t][r]}. */
    private static double[] stack(double[] bottom, double[][] emb, int rows, int dim) {
        int n = emb.length + 1;
        double[] v = new double[rows * n * dim];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(bottom, r * dim, v, r * n * dim, dim);
            for (int t = 0; t < emb.length; t++) {
                System.arraycopy(emb[t], r * dim, v, (r * n + t + 1) * dim, dim);
            }
        }
        return v;
    }

    private static double[] concat(double[] a, int aw, double[] b, int bw, int rows) {
        double[] c = new double[rows * (aw + bw)];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(a, r * aw, c, r * (aw + bw), aw);
            System.arraycopy(b, r * bw, c, r * (aw + bw) + aw, bw);
        }
        return c;
    }
}

package dev.ember.trainer.model;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The float64 reference's gradients against central finite differences, for every layer type
 * and the whole model: this is what makes the reference a reference.
 */
class ReferenceDlrmGradientTest {
    private static final double H = 1e-6;
    private static final double TOLERANCE = 1e-6;

    @Test
    void linearLayer() {
        SplittableRandom rnd = new SplittableRandom(11);
        int rows = 3, in = 5, out = 4;
        double[] x = normal(rnd, rows * in);
        double[] p = normal(rnd, out * in + out);
        double[] weight = normal(rnd, rows * out);
        ToDoubleFunction<double[]> lossOfP = q -> dot(weight, ReferenceDlrm.linear(x, rows, in, q, 0, out * in, out));
        ToDoubleFunction<double[]> lossOfX = q -> dot(weight, ReferenceDlrm.linear(q, rows, in, p, 0, out * in, out));
        double[] gradP = new double[p.length];
        double[] dx = new double[x.length];
        ReferenceDlrm.linearBackward(x, rows, in, p, 0, out * in, out, weight, gradP, dx);
        checkAll("linear dW, db", gradP, p, lossOfP);
        checkAll("linear dx", dx, x, lossOfX);
    }

    @Test
    void reluLayer() {
        SplittableRandom rnd = new SplittableRandom(12);
        double[] x = normal(rnd, 40);
        for (int i = 0; i < x.length; i++) {
            x[i] += Math.signum(x[i]) * 0.05; // keep the kink out of the finite difference's reach
        }
        double[] weight = normal(rnd, x.length);
        double[] dx = ReferenceDlrm.reluBackward(ReferenceDlrm.relu(x), weight);
        checkAll("relu dx", dx, x, q -> dot(weight, ReferenceDlrm.relu(q)));
    }

    @Test
    void dotInteraction() {
        SplittableRandom rnd = new SplittableRandom(13);
        int rows = 2, n = 5, dim = 3;
        double[] v = normal(rnd, rows * n * dim);
        double[] weight = normal(rnd, rows * n * (n - 1) / 2);
        double[] dv = ReferenceDlrm.interactionBackward(v, rows, n, dim, weight);
        checkAll("interaction dv", dv, v, q -> dot(weight, ReferenceDlrm.interaction(q, rows, n, dim)));
    }

    @Test
    void sigmoidCrossEntropy() {
        SplittableRandom rnd = new SplittableRandom(14);
        double[] z = normal(rnd, 6);
        z[0] = 4.0;
        z[1] = -3.5;
        double[] y = {1, 0, 1, 0, 0.3, 1};
        double[] dz = ReferenceDlrm.logLossBackward(z, y, z.length);
        checkAll("log loss dz", dz, z, q -> ReferenceDlrm.logLoss(q, y, q.length));
    }

    @Test
    void wholeSmallModel() {
        ModelConfig config = ModelConfig.of(3, new int[] {4, 6, 3}, new int[] {9, 5, 1});
        checkModel(config, 5, 15, Integer.MAX_VALUE);
    }

    @Test
    void wholeModelWithDeeperMlps() {
        ModelConfig config = ModelConfig.of(4, new int[] {3, 7, 5, 4}, new int[] {14, 6, 5, 1});
        checkModel(config, 4, 16, Integer.MAX_VALUE);
    }

    @Test
    void kaggleShapeSampled() {
        checkModel(ModelConfig.kaggle(), 3, 17, 12);
    }

    /** Checks every parameter and embedding input (or {@code perLayer} sampled ones per layer and table). */
    private static void checkModel(ModelConfig config, int batch, long seed, int perLayer) {
        SplittableRandom rnd = new SplittableRandom(seed);
        ParameterLayout layout = new ParameterLayout(config);
        double[] params = toDouble(MlpInit.parameters(layout, seed));
        double[] dense = normal(rnd, batch * config.denseFeatures());
        double[][] emb = new double[config.tables()][];
        for (int t = 0; t < emb.length; t++) {
            emb[t] = normal(rnd, batch * config.dim());
        }
        double[] labels = new double[batch];
        for (int r = 0; r < batch; r++) {
            labels[r] = rnd.nextBoolean() ? 1 : 0;
        }
        ReferenceDlrm model = new ReferenceDlrm(config);
        ReferenceDlrm.Result result = model.run(params, dense, emb, labels, batch, true);
        ToDoubleFunction<double[]> lossOfParams = q -> model.run(q, dense, emb, labels, batch, false).loss;
        for (int l = 0; l < layout.layers(); l++) {
            int weights = layout.inputWidth(l) * layout.outputWidth(l);
            checkSome("layer " + l + " W", result.parameterGradient, params, lossOfParams, layout.weightOffset(l), weights,
                    perLayer, rnd);
            checkSome("layer " + l + " b", result.parameterGradient, params, lossOfParams, layout.biasOffset(l),
                    layout.outputWidth(l), perLayer, rnd);
        }
        for (int t = 0; t < emb.length; t++) {
            int table = t;
            ToDoubleFunction<double[]> lossOfEmb = q -> {
                double[][] e = emb.clone();
                e[table] = q;
                return model.run(params, dense, e, labels, batch, false).loss;
            };
            checkSome("embedding " + t, result.embeddingGradient[t], emb[t], lossOfEmb, 0, emb[t].length, perLayer, rnd);
        }
    }

    private static void checkAll(String what, double[] analytic, double[] at, ToDoubleFunction<double[]> f) {
        for (int i = 0; i < at.length; i++) {
            checkOne(what, i, analytic[i], at, f);
        }
    }

    private static void checkSome(String what, double[] analytic, double[] at, ToDoubleFunction<double[]> f, int from,
                                  int count, int samples, SplittableRandom rnd) {
        if (samples >= count) {
            for (int i = from; i < from + count; i++) {
                checkOne(what, i, analytic[i], at, f);
            }
        } else {
            for (int s = 0; s < samples; s++) {
                int i = from + rnd.nextInt(count);
                checkOne(what, i, analytic[i], at, f);
            }
        }
    }

    private static void checkOne(String what, int i, double analytic, double[] at, ToDoubleFunction<double[]> f) {
        double keep = at[i];
        double h = H * Math.max(1.0, Math.abs(keep));
        at[i] = keep + h;
        double up = f.applyAsDouble(at);
        at[i] = keep - h;
        double down = f.applyAsDouble(at);
        at[i] = keep;
        double numeric = (up - down) / (2 * h);
        double error = Math.abs(numeric - analytic);
        // relative, with an absolute floor at the finite difference's own rounding noise (~1e-16 / h)
        assertTrue(error <= TOLERANCE * Math.abs(analytic) + 1e-9,
                what + " [" + i + "]: backward " + analytic + " vs finite difference " + numeric + " (error " + error + ")");
    }

    static double[] normal(SplittableRandom rnd, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = gaussian(rnd);
        }
        return v;
    }

    static double gaussian(SplittableRandom rnd) {
        double u1 = 1.0 - rnd.nextDouble();
        double u2 = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}

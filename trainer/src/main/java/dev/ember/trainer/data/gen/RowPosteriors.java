package dev.ember.trainer.data.gen;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * What the training samples reveal of one signal table's row weights: each wanted row's
 * posterior-mean weight given the training samples that hold it, under the generator's prior of
 * row weights, with everything else of the planted model known. This is the learnable ceiling's
 * estimate (the generator's) and the oracle bound's ({@code ember reference --oracle}); both use
 * this class, so they agree to the bit on the same samples.
 *
 * <p>Prior: a row's raw draw is the sum of four uniforms (Irwin-Hall of order 4), standardised and
 * mapped to a weight by {@link PlantedModel#weightOfDraw}; it is integrated on a grid of
 * {@value #GRID} midpoints. A sample holding the row with coefficient c (1 one-hot; a bag of n
 * holding it m times: m/n) and planted logit o + c*w, o the rest, has log-likelihood
 * l(w) = log sigmoid(+-(o + c*w)), analytic in w (its nearest poles are pi/c off the real axis), so
 * its degree-{@value #DEGREE} interpolant at Chebyshev nodes spanning the grid's weights is exact to
 * about 1e-10 nats at the grid points (RowPosteriorsTest checks the means against the exact grid
 * sums). Each sample therefore adds l at the {@value #NODES} nodes only,
 * and the sums (linear) are interpolated to the grid once per row. The sums are kept in fixed
 * point (2^-32 nats in a {@code long}): integer sums do not depend on the order samples arrive in,
 * so the means are the same bits whatever the thread count or the reader. log sigmoid comes from a
 * table (cubic Hermite pieces of softplus, error below 1e-10 nats). Both cuts (nodes, table) are
 * for speed: a training sample costs 10 signal rows times {@value #NODES} evaluations, and the
 * generator must stay well under twice its time without the ceiling.
 *
 * <p>Use: {@link #mark} the rows wanted (the held-out part's), {@link #seal}, {@link #add} the
 * training samples (any threads, each with its own {@link Scratch}, {@link #flush}ed when done),
 * {@link #computeMeans}, then read {@link #mean} and {@link #count}.
 *
 * <pre>
 * off-heap, one table, rows indexed 0..space (generator rows or converted ids):
 *   slotOfRow  int[space]         0: not wanted; s + 1: the row's slot (slots numbered in row order)
 *   loglik     long[slots * NODES] slot-major: sum over the row's samples of 2^32 log sigmoid(+-(o + c v_k)),
 *                                 v_k the k-th Chebyshev node's weight
 *   count      int[slots]         bag entries of the row in the training samples
 *   mean       double[slots]      the posterior mean, once computed
 * </pre>
 * Slots below {@value #HOT} (the popular rows: rows and ids are numbered by popularity) are summed
 * in each thread's {@link Scratch} first, so threads do not contend on them.
 */
public final class RowPosteriors {
    /** Grid points the prior is integrated on. */
    public static final int GRID = 32;
    /** Degree of the interpolant of a sample's log-likelihood in the weight. */
    static final int DEGREE = 16;
    static final int NODES = DEGREE + 1;
    /** Grid point g's log-likelihood = sum over nodes k of TO_GRID[g * NODES + k] times node k's. */
    private static final double[] TO_GRID = new double[GRID * NODES];
    /** Chebyshev nodes (first kind) in units where the grid's draws span [-1, 1]. */
    private static final double[] NODE = new double[NODES];
    /** Slots each thread sums locally before adding them to the shared sums. */
    static final int HOT = 1024;
    private static final double FIXED = 0x1p32;
    private static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());
    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());
    private static final double[] PRIOR = new double[GRID];
    private static final double[] DRAW = new double[GRID];
    /** softplus is tabulated on [-RANGE, RANGE]; outside it is 0 or x to within e^-RANGE. */
    private static final double RANGE = 32;
    private static final int PER_UNIT = 64;
    private static final int PIECES = (int) (2 * RANGE * PER_UNIT);
    /** Piece i: softplus(-RANGE + (i + f) / PER_UNIT) = c0 + f (c1 + f (c2 + f c3)), f in [0, 1). */
    private static final double[] PIECE = new double[PIECES * 4];

    static {
        for (int i = 0; i < PIECES; i++) {
            double x0 = -RANGE + (double) i / PER_UNIT;
            double x1 = -RANGE + (double) (i + 1) / PER_UNIT;
            double y0 = exactSoftplus(x0);
            double y1 = exactSoftplus(x1);
            double d0 = sigmoid(x0) / PER_UNIT; // slopes in units of f
            double d1 = sigmoid(x1) / PER_UNIT;
            PIECE[4 * i] = y0;
            PIECE[4 * i + 1] = d0;
            PIECE[4 * i + 2] = 3 * (y1 - y0) - 2 * d0 - d1;
            PIECE[4 * i + 3] = 2 * (y0 - y1) + d0 + d1;
        }
        for (int g = 0; g < GRID; g++) {
            double x = (g + 0.5) * 4.0 / GRID; // the sum of four uniforms
            PRIOR[g] = irwinHall4(x);
            DRAW[g] = (x - 2.0) * Math.sqrt(3.0);
        }
        for (int k = 0; k < NODES; k++) {
            NODE[k] = StrictMath.cos(Math.PI * (k + 0.5) / NODES);
        }
        for (int g = 0; g < GRID; g++) {
            double t = (2.0 * g - (GRID - 1)) / (GRID - 1); // the grid's draws are evenly spaced: -1 .. 1
            for (int k = 0; k < NODES; k++) {
                double lagrange = 1;
                for (int j = 0; j < NODES; j++) {
                    if (j != k) {
                        lagrange *= (t - NODE[j]) / (NODE[k] - NODE[j]);
                    }
                }
                TO_GRID[g * NODES + k] = lagrange;
            }
        }
    }

    private final String table;
    private final double[] gridWeight = new double[GRID];
    private final double[] nodeWeight = new double[NODES];
    private final ByteBuffer slotOfRow;
    private int slots = -1;
    private ByteBuffer loglik;
    private ByteBuffer count;
    private ByteBuffer mean;

    /**
     * @param model the planted model (its prior of weights)
     * @param table a signal table of {@code model}
     * @param space rows are numbered 0..space
     */
    public RowPosteriors(PlantedModel model, int table, int space) {
        if (!model.signal(table)) {
            throw new IllegalArgumentException("table " + table + " carries no signal");
        }
        this.table = "table " + table;
        for (int g = 0; g < GRID; g++) {
            gridWeight[g] = model.weightOfDraw(table, DRAW[g]);
        }
        double mid = (DRAW[0] + DRAW[GRID - 1]) / 2;
        double half = (DRAW[GRID - 1] - DRAW[0]) / 2;
        for (int k = 0; k < NODES; k++) {
            nodeWeight[k] = model.weightOfDraw(table, mid + half * NODE[k]);
        }
        slotOfRow = direct((long) space * Integer.BYTES, space + " rows");
    }

    /** Wants row {@code row}'s posterior. One thread, before {@link #seal}. */
    public void mark(int row) {
        slotOfRow.putInt(row * Integer.BYTES, 1);
    }

    /** Numbers the marked rows' slots in row order and allocates their sums. */
    public void seal() {
        int n = 0;
        for (int at = 0; at < slotOfRow.capacity(); at += Integer.BYTES) {
            if (slotOfRow.getInt(at) != 0) {
                slotOfRow.putInt(at, ++n);
            }
        }
        slots = n;
        loglik = direct((long) n * NODES * Long.BYTES, n + " wanted rows");
        count = direct((long) n * Integer.BYTES, n + " wanted rows");
        mean = direct((long) n * Double.BYTES, n + " wanted rows");
    }

    /** Rows marked. */
    public int slots() {
        return slots;
    }

    /** A thread's local sums of the {@value #HOT} first slots. */
    public static final class Scratch {
        private final long[] loglik = new long[HOT * NODES];
        private final int[] count = new int[HOT];
        private final int[] touched = new int[HOT];
        private int touchedCount;
    }

    /**
     * Adds one training sample holding {@code row} (ignored unless marked).
     *
     * @param rest     the sample's planted logit without this row's part
     * @param coef     the row's coefficient in the logit (1 one-hot; m/n for m times in a bag of n)
     * @param click    the sample's label
     * @param entries  bag entries holding the row (1 one-hot)
     */
    public void add(Scratch s, int row, double rest, double coef, boolean click, int entries) {
        int slot = slotOfRow.getInt(row * Integer.BYTES) - 1;
        if (slot < 0) {
            return;
        }
        double sign = click ? 1 : -1;
        if (slot < HOT) {
            if (s.count[slot] == 0) {
                s.touched[s.touchedCount++] = slot;
            }
            s.count[slot] += entries;
            int base = slot * NODES;
            for (int k = 0; k < NODES; k++) {
                s.loglik[base + k] += term(sign * (rest + coef * nodeWeight[k]));
            }
            return;
        }
        INTS.getAndAdd(count, slot * Integer.BYTES, entries);
        int base = slot * NODES;
        for (int k = 0; k < NODES; k++) {
            LONGS.getAndAdd(loglik, (base + k) * Long.BYTES, term(sign * (rest + coef * nodeWeight[k])));
        }
    }

    /** Adds a thread's local sums to the shared ones and clears them. */
    public void flush(Scratch s) {
        for (int i = 0; i < s.touchedCount; i++) {
            int slot = s.touched[i];
            INTS.getAndAdd(count, slot * Integer.BYTES, s.count[slot]);
            s.count[slot] = 0;
            for (int k = slot * NODES; k < (slot + 1) * NODES; k++) {
                LONGS.getAndAdd(loglik, k * Long.BYTES, s.loglik[k]);
                s.loglik[k] = 0;
            }
        }
        s.touchedCount = 0;
    }

    /** Computes the posterior means of slots [from, to) (disjoint ranges may run on several threads). */
    public void computeMeans(int from, int to) {
        double[] node = new double[NODES];
        double[] ll = new double[GRID];
        for (int slot = from; slot < to; slot++) {
            for (int k = 0; k < NODES; k++) {
                node[k] = loglik.getLong((slot * NODES + k) * Long.BYTES) / FIXED;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int g = 0; g < GRID; g++) {
                double v = 0;
                for (int k = 0; k < NODES; k++) {
                    v += TO_GRID[g * NODES + k] * node[k];
                }
                ll[g] = v;
                max = Math.max(max, v);
            }
            double num = 0;
            double den = 0;
            for (int g = 0; g < GRID; g++) {
                double p = PRIOR[g] * Math.exp(ll[g] - max);
                num += p * gridWeight[g];
                den += p;
            }
            mean.putDouble(slot * Double.BYTES, num / den);
        }
    }

    /** The posterior-mean weight of marked row {@code row} (after {@link #computeMeans}). */
    public double mean(int row) {
        return mean.getDouble(slotOf(row) * Double.BYTES);
    }

    /** Bag entries of marked row {@code row} in the training samples added. */
    public int count(int row) {
        return count.getInt(slotOf(row) * Integer.BYTES);
    }

    private int slotOf(int row) {
        int slot = slotOfRow.getInt(row * Integer.BYTES) - 1;
        if (slot < 0) {
            throw new IllegalStateException(table + ": row " + row + " was not marked");
        }
        return slot;
    }

    /**
     * 2^32 log sigmoid(z) truncated (a cast is cheaper than rounding; its bias, under one unit a
     * sample, is nearly the same at every grid point, so the posterior does not see it).
     */
    private static long term(double z) {
        return (long) (-FIXED * softplus(-z));
    }

    /** log(1 + e^x) from the table. */
    static double softplus(double x) {
        if (x <= -RANGE) {
            return 0;
        }
        if (x >= RANGE) {
            return x;
        }
        double t = (x + RANGE) * PER_UNIT;
        int i = (int) t;
        double f = t - i;
        int k = 4 * i;
        return PIECE[k] + f * (PIECE[k + 1] + f * (PIECE[k + 2] + f * PIECE[k + 3]));
    }

    private static double exactSoftplus(double x) {
        return Math.max(x, 0) + StrictMath.log1p(StrictMath.exp(-Math.abs(x)));
    }

    private static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + StrictMath.exp(-x)) : StrictMath.exp(x) / (1 + StrictMath.exp(x));
    }

    /** Density of the sum of four independent uniforms on [0, 1] at x in [0, 4]. */
    static double irwinHall4(double x) {
        if (x < 0 || x > 4) {
            return 0;
        }
        if (x < 1) {
            return x * x * x / 6;
        }
        if (x < 2) {
            return (-3 * x * x * x + 12 * x * x - 12 * x + 4) / 6;
        }
        if (x < 3) {
            return (3 * x * x * x - 24 * x * x + 60 * x - 44) / 6;
        }
        double y = 4 - x;
        return y * y * y / 6;
    }

    private ByteBuffer direct(long bytes, String what) {
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(table + ": " + what + " are too many for the learnable ceiling's sums ("
                    + bytes + " bytes, at most 2^31; lower --samples or --scale)");
        }
        return ByteBuffer.allocateDirect((int) Math.max(bytes, 8)).order(ByteOrder.nativeOrder());
    }
}

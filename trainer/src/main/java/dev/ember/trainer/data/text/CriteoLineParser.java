package dev.ember.trainer.data.text;

import dev.ember.trainer.data.CriteoSchema;

/**
 * Parses one Criteo line ({@code label \t 13 ints \t 26 hex}) from bytes, without allocating.
 * Results stay in this object until the next call. Not thread-safe: one per thread.
 *
 * <p>Empty integer fields read as 0 (so their dense value is {@code log(1) = 0}). An empty
 * categorical field is a value of its own, {@link #MISSING}, as in DLRM's preprocessing; in the
 * multi-hot variant a field holds several hex values separated by {@code ','} and an empty field
 * is an empty bag.
 */
public final class CriteoLineParser {
    /** The key of an empty categorical field (one-hot format). Hex keys are at most 15 digits. */
    public static final long MISSING = Long.MAX_VALUE;
    /** The default bag limit of the multi-hot format. */
    public static final int DEFAULT_MAX_BAG = 4096;

    private final boolean multiHot;
    private final int maxBag;

    private int label;
    private final long[] rawDense = new long[CriteoSchema.DENSE];
    private final float[] dense = new float[CriteoSchema.DENSE];
    private long[] keys = new long[CriteoSchema.TABLES * 4];
    private final int[] bagStart = new int[CriteoSchema.TABLES + 1];
    private Problem problem = Problem.NONE;
    private int problemField;

    /** A parser of the one-hot (standard Criteo) format. */
    public CriteoLineParser() {
        this(false, 1);
    }

    /**
     * @param multiHot whether categorical fields hold comma-separated bags
     * @param maxBag   the most ids one multi-hot field may hold (a longer bag is malformed)
     */
    public CriteoLineParser(boolean multiHot, int maxBag) {
        if (maxBag < 1) {
            throw new IllegalArgumentException("maxBag must be >= 1, got " + maxBag);
        }
        this.multiHot = multiHot;
        this.maxBag = multiHot ? maxBag : 1;
    }

    public boolean multiHot() {
        return multiHot;
    }

    /**
     * Parses {@code b[from, to)}, one line without its line terminator (a trailing {@code '\r'}
     * is ignored). Returns whether it is well formed; if not, see {@link #problem()}.
     */
    public boolean parse(byte[] b, int from, int to) {
        if (to > from && b[to - 1] == '\r') {
            to--;
        }
        problemField = 0;
        if (to == from) {
            return fail(Problem.EMPTY_LINE, 0);
        }
        int p = from;
        // label: one digit and a tab
        if (to - p < 2 || (b[p] != '0' && b[p] != '1') || b[p + 1] != '\t') {
            if (to - p == 1 && (b[p] == '0' || b[p] == '1')) {
                return fail(Problem.TOO_FEW_FIELDS, 0);
            }
            return fail(Problem.BAD_LABEL, 1);
        }
        label = b[p] - '0';
        p += 2;
        // integers: one pass per field, digits accumulated while looking for the tab
        for (int i = 0; i < CriteoSchema.DENSE; i++) {
            if (p > to) {
                return fail(Problem.TOO_FEW_FIELDS, 0);
            }
            int start = p;
            boolean negative = p < to && b[p] == '-';
            if (negative) {
                p++;
            }
            // accumulated negatively, as Long.parseLong does, so every long (Long.MIN_VALUE too) parses
            long limit = negative ? Long.MIN_VALUE : -Long.MAX_VALUE;
            long v = 0;
            boolean ok = true;
            while (p < to) {
                int c = b[p];
                if (c == '\t') {
                    break;
                }
                int d = c - '0';
                ok &= d >= 0 && d <= 9 && v >= limit / 10 && v * 10 >= limit + d;
                v = v * 10 - d;
                p++;
            }
            int digits = p - start - (negative ? 1 : 0);
            if (!ok || (negative && digits == 0)) {
                return fail(Problem.BAD_INTEGER, 2 + i);
            }
            v = negative ? v : -v;
            rawDense[i] = v;
            dense[i] = DenseTransform.apply(v);
            p++; // past the tab (or past the end: checked by the next field)
        }
        int n = 0;
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            if (p > to) {
                return fail(Problem.TOO_FEW_FIELDS, 0);
            }
            bagStart[t] = n;
            if (multiHot) {
                int end = nextTab(b, p, to);
                int q = p;
                while (q < end) {
                    int e = q;
                    while (e < end && b[e] != ',') {
                        e++;
                    }
                    if (n - bagStart[t] == maxBag) {
                        return fail(Problem.BAG_TOO_LARGE, 2 + CriteoSchema.DENSE + t);
                    }
                    long k = parseHex(b, q, e);
                    if (k < 0) {
                        return fail(Problem.BAD_HEX, 2 + CriteoSchema.DENSE + t);
                    }
                    n = put(n, k);
                    q = e + 1;
                    if (e < end && q == end) { // trailing comma
                        return fail(Problem.BAD_HEX, 2 + CriteoSchema.DENSE + t);
                    }
                }
                p = end + 1;
                continue;
            }
            int start = p;
            long v = 0;
            int bad = 0;
            while (p < to) {
                int c = b[p];
                if (c == '\t') {
                    break;
                }
                int d = HEX_VALUE[c & 0xff];
                bad |= d;
                v = (v << 4) | (d & 15);
                p++;
            }
            int len = p - start;
            if (len == 0) {
                n = put(n, MISSING);
            } else if (bad < 0 || len > 15) {
                return fail(Problem.BAD_HEX, 2 + CriteoSchema.DENSE + t);
            } else {
                n = put(n, v);
            }
            p++;
        }
        bagStart[CriteoSchema.TABLES] = n;
        if (p <= to) {
            return fail(Problem.TOO_MANY_FIELDS, 0);
        }
        problem = Problem.NONE;
        return true;
    }

    /** Hex digit values by byte, -1 for anything else. */
    private static final int[] HEX_VALUE = new int[256];

    static {
        java.util.Arrays.fill(HEX_VALUE, -1);
        for (int c = '0'; c <= '9'; c++) {
            HEX_VALUE[c] = c - '0';
        }
        for (int c = 'a'; c <= 'f'; c++) {
            HEX_VALUE[c] = c - 'a' + 10;
            HEX_VALUE[c - 'a' + 'A'] = c - 'a' + 10;
        }
    }

    private int put(int n, long key) {
        if (n == keys.length) {
            keys = java.util.Arrays.copyOf(keys, n * 2);
        }
        keys[n] = key;
        return n + 1;
    }

    private boolean fail(Problem why, int field) {
        problem = why;
        problemField = field;
        return false;
    }

    private static int nextTab(byte[] b, int p, int to) {
        while (p < to && b[p] != '\t') {
            p++;
        }
        return p;
    }

    /** The value of 1-15 hex digits, or -1. */
    static long parseHex(byte[] b, int p, int end) {
        int len = end - p;
        if (len < 1 || len > 15) {
            return -1;
        }
        long v = 0;
        for (; p < end; p++) {
            int c = b[p];
            int d;
            if (c >= '0' && c <= '9') {
                d = c - '0';
            } else if (c >= 'a' && c <= 'f') {
                d = c - 'a' + 10;
            } else if (c >= 'A' && c <= 'F') {
                d = c - 'A' + 10;
            } else {
                return -1;
            }
            v = (v << 4) | d;
        }
        return v;
    }

    /** The label of the last well-formed line, 0 or 1. */
    public int label() {
        return label;
    }

    /** Dense feature {@code i} as DLRM feeds it: {@code log(1 + max(x, 0))}. */
    public float dense(int i) {
        return dense[i];
    }

    /** Integer feature {@code i} as written (0 when empty). */
    public long rawDense(int i) {
        return rawDense[i];
    }

    /** How many keys table {@code t} holds in this line (1 in the one-hot format). */
    public int bagSize(int t) {
        return bagStart[t + 1] - bagStart[t];
    }

    /** Key {@code j} of table {@code t}'s bag. */
    public long key(int t, int j) {
        return keys[bagStart[t] + j];
    }

    /** Why the last line was malformed ({@link Problem#NONE} if it was not). */
    public Problem problem() {
        return problem;
    }

    /** The 1-based field the problem is in, or 0 when it concerns the whole line. */
    public int problemField() {
        return problemField;
    }
}

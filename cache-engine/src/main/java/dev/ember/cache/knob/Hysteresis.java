package dev.ember.cache.knob;

/**
 * How much a challenger row must beat an incumbent hot row by before it displaces it, so rows
 * do not flap between tiers: an incumbent with score {@code s} ranks as
 * {@code s * (1 + margin) + sigmas * sqrt(s)}.
 *
 * <p>The relative {@code margin} covers real but small differences in popularity. The
 * {@code sigmas} term covers counting noise: scores are (decayed) access counts, in units of one
 * access at the present step, and a count with mean {@code s} varies by about {@code sqrt(s)}
 * (Poisson; decay only lowers the variance, since every weight is at most 1). Rows at the edge of
 * a large hot set have small counts, where noise far exceeds any relative margin.
 */
public record Hysteresis(double margin, double sigmas) {
    /** 10% and three standard deviations of counting noise. */
    public static final Hysteresis DEFAULT = new Hysteresis(0.1, 3.0);
    /** No hysteresis: every evaluation ranks all rows afresh. */
    public static final Hysteresis NONE = new Hysteresis(0, 0);

    public Hysteresis {
        if (!(margin >= 0 && margin < 10)) {
            throw new IllegalArgumentException("hysteresis margin must be in [0, 10), got " + margin);
        }
        if (!(sigmas >= 0 && sigmas <= 10)) {
            throw new IllegalArgumentException("hysteresis sigmas must be in [0, 10], got " + sigmas);
        }
    }

    /** A relative margin only. */
    public static Hysteresis ofMargin(double margin) {
        return new Hysteresis(margin, 0);
    }

    /** The score an incumbent ranks with. */
    public double boost(double score) {
        return score * (1 + margin) + sigmas * Math.sqrt(score);
    }
}

package dev.ember.trainer.train;

import java.util.Arrays;

/**
 * One mode's learning curve: a point at each periodic evaluation, in columns of primitive arrays
 * sized up front (a point is added only at an evaluation, never per step).
 *
 * <pre>
 *  column      unit                     window
 *  seconds     training seconds so far  evaluation time excluded
 *  step        steps trained so far
 *  trainLoss   mean step loss           steps since the previous point
 *  auc         held-out AUC             the evaluation slice
 *  logLoss     held-out log loss        the evaluation slice
 *  hitRate     hot ids / all ids        steps since the previous point
 *  hotFraction all-hot samples / all    steps since the previous point
 * </pre>
 * The first point (step 0 of a fresh run) has no window: its window columns are NaN.
 */
public final class Curve {
    private final String mode;
    private int size;
    private double[] seconds;
    private long[] step;
    private double[] trainLoss;
    private double[] auc;
    private double[] logLoss;
    private double[] hitRate;
    private double[] hotFraction;

    public Curve(String mode, int capacity) {
        this.mode = mode;
        int c = Math.max(2, capacity);
        seconds = new double[c];
        step = new long[c];
        trainLoss = new double[c];
        auc = new double[c];
        logLoss = new double[c];
        hitRate = new double[c];
        hotFraction = new double[c];
    }

    /** Appends a point; grows (rarely: only when a run outlasts its planned steps). */
    public void add(double seconds, long step, double trainLoss, double auc, double logLoss, double hitRate,
                    double hotFraction) {
        if (size == this.seconds.length) {
            int c = size * 2;
            this.seconds = Arrays.copyOf(this.seconds, c);
            this.step = Arrays.copyOf(this.step, c);
            this.trainLoss = Arrays.copyOf(this.trainLoss, c);
            this.auc = Arrays.copyOf(this.auc, c);
            this.logLoss = Arrays.copyOf(this.logLoss, c);
            this.hitRate = Arrays.copyOf(this.hitRate, c);
            this.hotFraction = Arrays.copyOf(this.hotFraction, c);
        }
        this.seconds[size] = seconds;
        this.step[size] = step;
        this.trainLoss[size] = trainLoss;
        this.auc[size] = auc;
        this.logLoss[size] = logLoss;
        this.hitRate[size] = hitRate;
        this.hotFraction[size] = hotFraction;
        size++;
    }

    public String mode() {
        return mode;
    }

    public int size() {
        return size;
    }

    /** Step of the last point, or -1 when empty. */
    public long lastStep() {
        return size == 0 ? -1 : step[size - 1];
    }

    public double[] seconds() {
        return Arrays.copyOf(seconds, size);
    }

    public long[] steps() {
        return Arrays.copyOf(step, size);
    }

    public double[] trainLoss() {
        return Arrays.copyOf(trainLoss, size);
    }

    public double[] auc() {
        return Arrays.copyOf(auc, size);
    }

    public double[] logLoss() {
        return Arrays.copyOf(logLoss, size);
    }

    public double[] hitRate() {
        return Arrays.copyOf(hitRate, size);
    }

    public double[] hotFraction() {
        return Arrays.copyOf(hotFraction, size);
    }
}

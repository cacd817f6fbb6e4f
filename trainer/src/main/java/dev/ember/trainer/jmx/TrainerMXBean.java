package dev.ember.trainer.jmx;

/**
 * {@code dev.ember:type=Trainer}: the mode training now, registered while it trains. Rates and
 * times count training steps only (periodic evaluations excluded).
 */
public interface TrainerMXBean {
    /** {@code baseline}, {@code fae}, {@code cache} or {@code device}. */
    String getMode();

    /** Steps trained so far (a resumed run counts from its checkpoint's step). */
    long getStep();

    /** Steps planned for this mode (one epoch when none were given). */
    long getPlannedSteps();

    /** Samples trained since this mode started. */
    long getSamples();

    /** Samples per second of training time since this mode started. */
    double getSamplesPerSecond();

    /** Training loss, a moving average over about the last 50 steps; NaN before the first step. */
    double getLoss();

    /** Held-out AUC at the last evaluation; NaN before the first. */
    double getLastEvalAuc();

    /** Held-out log loss at the last evaluation; NaN before the first. */
    double getLastEvalLogLoss();

    /** Step of the last evaluation; -1 before the first. */
    long getLastEvalStep();

    /** Training seconds since this mode started (evaluations excluded). */
    double getTrainingSeconds();
}

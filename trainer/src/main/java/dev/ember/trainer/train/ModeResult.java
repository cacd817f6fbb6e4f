package dev.ember.trainer.train;

/**
 * What one mode's run reports: one JSON line on stdout and one row of the summary table.
 * Times are wall-clock over the training steps only (data preparation, profiling and evaluation
 * excluded). {@code hotSampleFraction}: share of trained samples in all-hot batches;
 * {@code hotBatchHostGathers}: host row gathers of batches classified hot (FAE promises 0).
 * {@code hotStepMillis}, {@code coldStepMillis}: mean time of a step (lookup to update) whose batch
 * had every id hot, or not (NaN when there were none). Counters count training lookups only.
 * {@code hostCoresBusy}: the JVM's CPU time over the training loop's wall time (every thread, its
 * curve evaluations included): how much of the host a mode needs beside its device.
 */
public record ModeResult(String mode, String device, long steps, long samples, int batch, double seconds,
                         double samplesPerSecond, double auc, double logLoss, double accuracy,
                         double finalTrainLoss, double hitRate, long hostGathers, double coldGatherSeconds,
                         long evalSamples, double hotSampleFraction, long hotBatches, long coldBatches,
                         long hotBatchHostGathers, long rowsPromoted, long rowsDemoted, double profileSeconds,
                         double hotStepMillis, double coldStepMillis, long hotSteps, long coldSteps, double hostCoresBusy) {
}

package dev.ember.trainer.train;

/**
 * What one mode's run reports: one JSON line on stdout and one row of the summary table.
 * Times are wall-clock over the training steps only (data preparation, profiling and evaluation
 * excluded). {@code hotSampleFraction}: share of trained samples in all-hot batches;
 * {@code hotBatchHostGathers}: host row gathers of batches classified hot (FAE promises 0).
 */
public record ModeResult(String mode, String device, long steps, long samples, int batch, double seconds,
                         double samplesPerSecond, double auc, double logLoss, double accuracy,
                         double finalTrainLoss, double hitRate, long hostGathers, double coldGatherSeconds,
                         long evalSamples, double hotSampleFraction, long hotBatches, long coldBatches,
                         long hotBatchHostGathers, long rowsPromoted, long rowsDemoted, double profileSeconds) {
}

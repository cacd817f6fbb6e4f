package dev.ember.trainer.train;

/**
 * What one mode's run reports: one JSON line on stdout and one row of the summary table.
 * Times are wall-clock over the training steps only (data preparation and evaluation excluded).
 */
public record ModeResult(String mode, String device, long steps, long samples, int batch, double seconds,
                         double samplesPerSecond, double auc, double logLoss, double accuracy,
                         double finalTrainLoss, double hitRate, long hostGathers, double coldGatherSeconds,
                         long evalSamples) {
}

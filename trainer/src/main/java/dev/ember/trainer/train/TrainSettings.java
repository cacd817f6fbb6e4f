package dev.ember.trainer.train;

import dev.ember.cache.knob.Budget;
import java.nio.file.Path;

/**
 * One training run's settings, validated on construction (one message per problem, naming the
 * option to change).
 *
 * @param steps            training steps (batches); one epoch when 0
 * @param evalSamples      held-out samples to evaluate (all when 0)
 * @param checkpointEvery  steps between checkpoints (0: only at the end)
 * @param device           hot-tier device for the tiered modes: auto, cuda, opencl or host
 * @param budget           hot-tier budget of the cache and fae modes (bytes or a fraction of all rows)
 */
public record TrainSettings(Mode mode, Path storeDir, int batchSize, long steps, float learningRate,
                            long seed, int threads, long evalSamples, long checkpointEvery, boolean resume,
                            boolean progress, String device, Budget budget) {
    /** Defaults for the options added with the tiered modes: the best device, 10% of embedding bytes hot. */
    public static final String DEFAULT_DEVICE = "auto";
    public static final Budget DEFAULT_BUDGET = Budget.ofFraction(0.10);

    public TrainSettings {
        if (batchSize < 1 || batchSize > 1 << 20) {
            throw new IllegalArgumentException("--batch must be in 1..1048576, got " + batchSize);
        }
        if (steps < 0) {
            throw new IllegalArgumentException("--steps must be >= 0, got " + steps);
        }
        if (!(learningRate > 0 && learningRate < 100)) {
            throw new IllegalArgumentException("--lr must be in (0, 100), got " + learningRate);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("--threads must be >= 1, got " + threads);
        }
        if (evalSamples < 0) {
            throw new IllegalArgumentException("--eval-samples must be >= 0, got " + evalSamples);
        }
        if (device == null || !java.util.Set.of("auto", "cuda", "opencl", "host").contains(device)) {
            throw new IllegalArgumentException("--device must be one of auto, cuda, opencl, host, got " + device);
        }
        java.util.Objects.requireNonNull(budget, "budget");
        if (checkpointEvery < 0) {
            throw new IllegalArgumentException("--checkpoint-every must be >= 0, got " + checkpointEvery);
        }
    }
}

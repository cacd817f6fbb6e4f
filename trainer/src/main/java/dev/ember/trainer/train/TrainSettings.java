package dev.ember.trainer.train;

import dev.ember.cache.knob.Budget;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One training run's settings, validated on construction (one message per problem, naming the
 * option to change).
 *
 * @param steps            training steps (batches); {@code recipe.epochs()} epochs when 0
 * @param evalSamples      held-out samples to evaluate (all when 0)
 * @param checkpointEvery  steps between checkpoints (0: only at the end)
 * @param device           hot-tier device for the tiered modes: auto, cuda, opencl or host
 * @param budget           hot-tier budget of the cache and fae modes (bytes or a fraction of all rows)
 * @param recipe           epochs, optimizers, step sizes and warm-up ({@code learningRate} is the
 *                         step size of the parts the recipe does not name otherwise)
 */
public record TrainSettings(Mode mode, Path storeDir, int batchSize, long steps, float learningRate,
                            long seed, int threads, long evalSamples, long checkpointEvery, boolean resume,
                            boolean progress, String device, Budget budget, Recipe recipe) {
    /** Defaults for the options added with the tiered modes: the best device, 10% of embedding bytes hot. */
    public static final String DEFAULT_DEVICE = "auto";
    public static final Budget DEFAULT_BUDGET = Budget.ofFraction(0.10);

    public TrainSettings {
        List<String> bad = problems(batchSize, steps, learningRate, threads, evalSamples, checkpointEvery, device);
        if (!bad.isEmpty()) {
            throw new IllegalArgumentException(bad.get(0));
        }
        Objects.requireNonNull(budget, "budget");
        Objects.requireNonNull(recipe, "recipe");
    }

    /** Settings with the plain recipe: one epoch of SGD at {@code learningRate} everywhere. */
    public TrainSettings(Mode mode, Path storeDir, int batchSize, long steps, float learningRate, long seed, int threads,
                         long evalSamples, long checkpointEvery, boolean resume, boolean progress, String device,
                         Budget budget) {
        this(mode, storeDir, batchSize, steps, learningRate, seed, threads, evalSamples, checkpointEvery, resume, progress,
                device, budget, Recipe.sgd(learningRate));
    }

    public TrainSettings withRecipe(Recipe r) {
        return new TrainSettings(mode, storeDir, batchSize, steps, learningRate, seed, threads, evalSamples, checkpointEvery,
                resume, progress, device, budget, r);
    }

    /** The same run on another hot-tier device, resuming its store's last checkpoint. */
    public TrainSettings resumedOn(String otherDevice) {
        return new TrainSettings(mode, storeDir, batchSize, steps, learningRate, seed, threads, evalSamples, checkpointEvery,
                true, progress, otherDevice, budget, recipe);
    }

    /** Every problem of these settings, one line each naming the option (none when they are valid). */
    public static List<String> problems(int batchSize, long steps, float learningRate, int threads, long evalSamples,
                                        long checkpointEvery, String device) {
        List<String> bad = new ArrayList<>();
        if (batchSize < 1 || batchSize > 1 << 20) {
            bad.add("--batch must be in 1..1048576, got " + batchSize);
        }
        if (steps < 0) {
            bad.add("--steps must be >= 0, got " + steps);
        }
        if (!(learningRate > 0 && learningRate < 100)) {
            bad.add("--lr must be in (0, 100), got " + learningRate);
        }
        if (threads < 1) {
            bad.add("--threads must be >= 1, got " + threads);
        }
        if (evalSamples < 0) {
            bad.add("--eval-samples must be >= 0, got " + evalSamples);
        }
        if (device == null || !Set.of("auto", "cuda", "opencl", "host").contains(device)) {
            bad.add("--device must be one of auto, cuda, opencl, host, got " + device);
        }
        if (checkpointEvery < 0) {
            bad.add("--checkpoint-every must be >= 0, got " + checkpointEvery);
        }
        return bad;
    }
}

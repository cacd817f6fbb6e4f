package dev.ember.trainer.train;

import dev.ember.cache.table.Optimizer;
import dev.ember.trainer.model.DenseOptimizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How a run optimises: passes over the training part, the embedding tables' optimizer and step
 * size, the MLPs' optimizer and step size, and a linear warm-up of both step sizes.
 *
 * <p>Why two step sizes: the MLPs see every sample, while an embedding row sees only the samples
 * that hold it, and its gradient is that of the batch-mean loss (each sample weighs 1/batch). A
 * rare row under plain SGD therefore barely moves; row-wise Adagrad divides by the row's own
 * gradient history, so rare rows take full steps and frequent ones settle.
 *
 * @param epochs             passes over the training part when no step count is given
 * @param embeddingOptimizer the tables' update rule (its state is stored with each row)
 * @param embeddingLr        the tables' step size
 * @param denseOptimizer     the MLPs' update rule
 * @param denseLr            the MLPs' step size
 * @param warmupSteps        both step sizes grow linearly from {@code 1/warmupSteps} of their value
 *                           to all of it over the first {@code warmupSteps} steps (0: none)
 */
public record Recipe(int epochs, Optimizer embeddingOptimizer, float embeddingLr, DenseOptimizer denseOptimizer,
                     float denseLr, long warmupSteps) {
    /**
     * The tables' step size under row-wise Adagrad or Adagrad when none is given: best of 0.015,
     * 0.03 and 0.05 on 10M generated samples, batch 2048, one epoch (docs/runs/2026-11-26-H100-accuracy).
     */
    public static final float ADAGRAD_EMBEDDING_LR = 0.03f;
    /** The most passes a run may ask for. */
    public static final int MAX_EPOCHS = 1000;

    public Recipe {
        List<String> bad = problems(epochs, embeddingOptimizer, embeddingLr, denseOptimizer, denseLr, warmupSteps);
        if (!bad.isEmpty()) {
            throw new IllegalArgumentException(bad.get(0));
        }
    }

    /** One epoch of plain SGD at {@code lr} everywhere (the recipe of runs that name none). */
    public static Recipe sgd(float lr) {
        return new Recipe(1, Optimizer.SGD, lr, DenseOptimizer.SGD, lr, 0);
    }

    /** Every problem of these values, one line each naming the option (none when they are valid). */
    public static List<String> problems(int epochs, Optimizer embeddingOptimizer, float embeddingLr,
                                        DenseOptimizer denseOptimizer, float denseLr, long warmupSteps) {
        List<String> bad = new ArrayList<>();
        if (epochs < 1 || epochs > MAX_EPOCHS) {
            bad.add("--epochs must be in 1.." + MAX_EPOCHS + ", got " + epochs);
        }
        if (embeddingOptimizer == null) {
            bad.add("--embedding-optimizer is missing; choose " + optimizerNames());
        }
        if (!(embeddingLr > 0 && embeddingLr < 100)) {
            bad.add("--embedding-lr must be in (0, 100), got " + embeddingLr);
        }
        if (denseOptimizer == null) {
            bad.add("--dense-optimizer is missing; choose sgd or adagrad");
        }
        if (!(denseLr > 0 && denseLr < 100)) {
            bad.add("--dense-lr must be in (0, 100), got " + denseLr);
        }
        if (warmupSteps < 0) {
            bad.add("--warmup-steps must be >= 0, got " + warmupSteps);
        }
        return bad;
    }

    /** The factor on both step sizes at {@code step} (0-based): {@code min(1, (step + 1) / warmupSteps)}. */
    public float warmupFactor(long step) {
        return warmupSteps == 0 || step >= warmupSteps ? 1.0f : (float) ((double) (step + 1) / warmupSteps);
    }

    /** The table optimizer named on the command line (sgd, rowwise-adagrad, adagrad), or null. */
    public static Optimizer parseEmbeddingOptimizer(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        return switch (n) {
            case "sgd" -> Optimizer.SGD;
            case "rowwise-adagrad", "row-wise-adagrad" -> Optimizer.ROWWISE_ADAGRAD;
            case "adagrad" -> Optimizer.ADAGRAD;
            default -> null;
        };
    }

    /** The MLP optimizer named on the command line (sgd, adagrad), or null. */
    public static DenseOptimizer parseDenseOptimizer(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "sgd" -> DenseOptimizer.SGD;
            case "adagrad" -> DenseOptimizer.ADAGRAD;
            default -> null;
        };
    }

    /** The command-line name of a table optimizer. */
    public static String label(Optimizer o) {
        return o.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    static String optimizerNames() {
        return "sgd, rowwise-adagrad or adagrad";
    }
}

package dev.ember.trainer.model;

/**
 * The dense optimizer and its constants.
 *
 * @param kind         SGD or Adagrad
 * @param learningRate step size; can be changed between steps with the backend's setter
 * @param epsilon      Adagrad's denominator guard (PyTorch's default 1e-10); unused by SGD
 */
public record OptimizerSettings(DenseOptimizer kind, float learningRate, float epsilon) {
    public OptimizerSettings {
        if (kind == null) {
            throw new IllegalArgumentException("dense optimizer kind is missing; choose SGD or ADAGRAD");
        }
        checkLearningRate(learningRate);
        if (!(epsilon >= 0f) || Float.isInfinite(epsilon)) {
            throw new IllegalArgumentException("Adagrad epsilon must be a finite non-negative number, got " + epsilon);
        }
    }

    public static OptimizerSettings sgd(float learningRate) {
        return new OptimizerSettings(DenseOptimizer.SGD, learningRate, 1e-10f);
    }

    public static OptimizerSettings adagrad(float learningRate) {
        return new OptimizerSettings(DenseOptimizer.ADAGRAD, learningRate, 1e-10f);
    }

    /** @throws IllegalArgumentException unless {@code lr} is finite and non-negative */
    public static void checkLearningRate(float lr) {
        if (!(lr >= 0f) || Float.isInfinite(lr)) {
            throw new IllegalArgumentException("learning rate must be a finite non-negative number, got " + lr);
        }
    }
}

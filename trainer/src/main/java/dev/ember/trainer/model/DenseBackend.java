package dev.ember.trainer.model;

/**
 * Runs the DLRM dense model (bottom MLP, dot interaction, top MLP, sigmoid, binary
 * cross-entropy) forward and backward and updates the MLP weights. The embeddings are not
 * here: the store hands in one pooled vector per table and sample, and takes back their
 * gradients.
 *
 * <p>The backend owns every buffer, sized for {@link #maxBatch()} samples at construction; a
 * step allocates nothing. A step is: copy the batch in ({@link #putDense}, {@link #putEmbedding}
 * per table, {@link #putLabels}), {@link #step(int)}, then copy the pooled-embedding gradients
 * out ({@link #getEmbeddingGradient}) for the store to apply. A device backend may run the
 * copies and the step asynchronously on one stream; the {@code get} methods and
 * {@link StepLoss#mean()} are the points where the host waits.
 *
 * <p>Gradients are of the batch-mean loss (so the store applies {@code lr * gradient} as
 * DLRM's SGD does). Host arrays are row-major: sample {@code s}'s {@code width} values start at
 * {@code offset + s * width}. One thread drives a backend; it may use more inside.
 *
 * <p>For a device backend: inputs that already live on the device (pooled vectors gathered
 * from the hot tier) can come in through a device-side variant of {@link #putEmbedding} on the
 * implementation; the host-array methods here are what every backend supports.
 */
public interface DenseBackend extends AutoCloseable {
    ModelConfig config();

    /** The most samples one step takes. */
    int maxBatch();

    /** Copies {@code batch x denseFeatures} dense features in. */
    void putDense(float[] src, int offset, int batch);

    /** Copies table {@code table}'s {@code batch x dim} pooled embedding vectors in. */
    void putEmbedding(int table, float[] src, int offset, int batch);

    /** Copies {@code batch} labels in {@code [0, 1]} in (clicks are 0 or 1). */
    void putLabels(float[] src, int offset, int batch);

    /** Forward only (evaluation): predictions and the loss against the labels put in. */
    StepLoss forward(int batch);

    /**
     * Forward and backward: the loss, the gradients of the MLP weights and of every pooled
     * embedding input. The weights are not changed.
     */
    StepLoss forwardBackward(int batch);

    /** Applies the dense optimizer with the gradients of the last {@link #forwardBackward}. */
    void update();

    /** One training step: {@link #forwardBackward} then {@link #update}. */
    default StepLoss step(int batch) {
        StepLoss loss = forwardBackward(batch);
        update();
        return loss;
    }

    /** Copies the last forward pass's click probabilities (sigmoid of the logits) out. */
    void getPredictions(float[] dst, int offset, int batch);

    /** Copies the gradient w.r.t. table {@code table}'s pooled vectors ({@code batch x dim}) out. */
    void getEmbeddingGradient(int table, float[] dst, int offset, int batch);

    /** Copies the MLP weight gradients of the last {@link #forwardBackward} out, laid out by {@link ParameterLayout}. */
    void getParameterGradient(float[] dst);

    /** Sets the step size for the following updates. */
    void setLearningRate(float learningRate);

    /** A host copy of the weights and optimizer state (for checkpoints: {@link ModelState#toBytes()}). */
    ModelState saveState();

    /**
     * Replaces the weights, the optimizer state, the update count and the learning rate with the saved ones.
     *
     * @throws IllegalArgumentException if the state's model or optimizer differs from this backend's
     */
    void restoreState(ModelState state);

    /** Stops the backend's threads and frees its device memory. */
    @Override
    void close();
}

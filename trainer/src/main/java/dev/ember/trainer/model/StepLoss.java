package dev.ember.trainer.model;

/**
 * The loss of one forward pass, read lazily: a device backend keeps it in device memory and
 * copies it back only when {@link #mean()} is called (so a trainer that logs every N steps
 * synchronises once per N steps). The handle belongs to the backend and is reused: it holds the
 * latest pass's loss and is valid until the backend's next forward pass.
 */
public interface StepLoss {
    /** Mean binary cross-entropy over the batch; may wait for the device. */
    double mean();

    /** Samples in the batch this loss is over. */
    int batch();
}

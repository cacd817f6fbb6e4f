package dev.ember.trainer.train;

import dev.ember.gpu.device.DeviceException;

/**
 * The hot tier's device failed mid-run, and what the store now holds: its last checkpoint is
 * {@link #checkpointStep()}, which is the step the run had reached when the device still
 * answered and its dirty hot rows were saved ({@link #saved()}), else the checkpoint from
 * before the failure (the steps after it are lost). The message says which, in one line.
 */
public final class DeviceFailedException extends DeviceException {
    private static final long serialVersionUID = 1L;
    private final long checkpointStep;
    private final boolean saved;

    DeviceFailedException(String message, DeviceException cause, long checkpointStep, boolean saved) {
        super(message, cause);
        this.checkpointStep = checkpointStep;
        this.saved = saved;
    }

    /** The step of the store's last checkpoint, where a resumed run continues. */
    public long checkpointStep() {
        return checkpointStep;
    }

    /** Whether the run's state at the failure was saved (nothing lost), rather than the last checkpoint kept. */
    public boolean saved() {
        return saved;
    }
}

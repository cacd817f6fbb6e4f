package dev.ember.trainer.train;

import dev.ember.trainer.data.Batch;

/** The order a mode trains samples in: one batch per call. */
interface BatchSource {
    /** Fills {@code out} with the next batch; false when the source is done. */
    boolean next(Batch out);

    /**
     * Whether {@link #next} would begin a new window, before which rows move: the caller fetches
     * it only when every batch handed out is trained (none in flight), and holds no batch of one
     * window ahead across the boundary.
     */
    default boolean nextStartsWindow() {
        return false;
    }

    /** Whether the batch last filled was classified all-hot (FAE's hot mini-batch). */
    default boolean lastWasHot() {
        return false;
    }
}

package dev.ember.trainer.train;

import dev.ember.trainer.data.Batch;

/** The order a mode trains samples in: one batch per call. */
interface BatchSource {
    /** Fills {@code out} with the next batch; false when the source is done. */
    boolean next(Batch out);

    /** Whether the batch last filled was classified all-hot (FAE's hot mini-batch). */
    default boolean lastWasHot() {
        return false;
    }
}

package dev.ember.trainer.train;

/** Where embedding rows live while a model trains (DESIGN.md, Training modes). */
public enum Mode {
    /** Every row in the cold tier, gathered and updated on the host: the paper's baseline. */
    BASELINE,
    /** FAE: profiled hot rows on the device; all-hot mini-batches (no host gathers) interleaved with cold ones. */
    FAE,
    /** Original sample order; hot ids on the device, misses through the host, next batches' misses prefetched. */
    CACHE,
    /** Every row resident on the device (when it fits): the upper bound. */
    DEVICE;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Whether the mode runs over the tiered store (a hot tier on a device). */
    public boolean tiered() {
        return this != BASELINE;
    }
}

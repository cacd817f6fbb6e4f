package dev.ember.trainer.train;

/** Where embedding rows live while a model trains (DESIGN.md, Training modes). */
public enum Mode {
    /** Every row in the cold tier, gathered and updated on the host: the paper's baseline. */
    BASELINE;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}

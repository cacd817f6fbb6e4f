package dev.ember.cache.jmx;

/**
 * {@code dev.ember:type=Knob}: the hot-tier budget, what the knob chose and the last re-tiering.
 * A budget written here takes effect at the knob's next evaluation.
 */
public interface KnobMXBean {
    /** The budget as given: bytes, or a fraction of all embedding bytes. */
    String getBudget();

    /** Sets the budget: bytes ({@code 67108864}, {@code 64MiB}) or a fraction ({@code 0.1}, {@code 10%}). */
    void setBudget(String budget);

    /** The budget resolved to bytes. */
    long getBudgetBytes();

    /** {@code cache} (hit rate) or {@code fae} (all-hot samples per byte); {@code resident} in device mode. */
    String getMode();

    String[] getTables();

    /** Hot rows per table, in {@link #getTables()} order. */
    long[] getHotRows();

    /** Bytes the hot rows take (rows times row bytes). */
    long getBytesUsed();

    /** The last choice's predicted objective: hit rate ({@code cache}) or all-hot sample share ({@code fae}). */
    double getObjective();

    long getEvaluations();

    /** Generation of the published hot set. */
    long getGeneration();

    /** Rows promoted since the last retarget (the re-tiering in progress or last finished). */
    long getLastPromoted();

    /** Rows demoted since the last retarget. */
    long getLastDemoted();

    /** Rows promoted since the store opened (every re-tiering). */
    long getPromotedRows();

    /** Rows demoted since the store opened (every re-tiering). */
    long getDemotedRows();

    /** Moves still pending toward the last target. */
    long getPendingMoves();

    /** Time spent moving rows since the last retarget, milliseconds. */
    double getLastRetierMillis();

    /** The longest time one step boundary spent moving rows since the last retarget, milliseconds. */
    double getLastStallMillis();
}

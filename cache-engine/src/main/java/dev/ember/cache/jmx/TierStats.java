package dev.ember.cache.jmx;

/** What the tiered store tells a table's MXBean: rows it holds hot and where lookups were served. */
public interface TierStats {
    /** Rows of the table owned by the hot tier now. */
    long hotRows();

    /** Unique ids of batches served by the hot tier. */
    long hotHits();

    /** Unique ids of batches served by the cold tier (misses). */
    long coldMisses();
}

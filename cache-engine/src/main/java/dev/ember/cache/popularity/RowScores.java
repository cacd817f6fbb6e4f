package dev.ember.cache.popularity;

import dev.ember.cache.table.TableSpec;
import java.util.List;

/** Popularity per (table, row) that the knob ranks: what you can read from a set of counters. */
public interface RowScores {
    List<TableSpec> tables();

    /** The row's score (0 for a row never counted). */
    double score(int table, long row);

    /** The sum of all scores of the table. */
    double total(int table);

    /** Rows of {@code table} with a score, in ascending row order. */
    void forEachScored(int table, RowScoreConsumer consumer);

    /** How many rows of {@code table} have a score. */
    long scoredRows(int table);
}

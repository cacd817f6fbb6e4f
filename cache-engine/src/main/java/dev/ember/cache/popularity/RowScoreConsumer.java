package dev.ember.cache.popularity;

/** Receives one row's score; primitive, so walking the scores allocates nothing per row. */
@FunctionalInterface
public interface RowScoreConsumer {
    void accept(int row, double score);
}

/**
 * Popularity: FAE's sampling profiler over the training input, and exact exponentially decaying
 * access counters per (table, row) fed by the ids the store serves, both off-heap and both
 * readable by the knob as {@link dev.ember.cache.popularity.RowScores}.
 */
package dev.ember.cache.popularity;

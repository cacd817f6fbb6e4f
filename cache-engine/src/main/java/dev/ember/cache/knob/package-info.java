/**
 * The knob: from a byte budget, choose the rows to keep hot across all tables (objective: hit
 * rate in {@code cache} mode, all-hot samples in {@code fae} mode), with hysteresis, re-evaluated
 * every N steps on a background thread; the budget can change at run time.
 */
package dev.ember.cache.knob;

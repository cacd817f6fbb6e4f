package dev.ember.trainer.data.vocab;

import dev.ember.trainer.data.CriteoSchema;

import java.util.Arrays;

/**
 * How vocabularies are built. Every table reserves id 0 for values seen fewer than
 * {@code minCount} times (and, when a vocabulary is reused, for values it never saw); kept
 * values get consecutive ids from 1 in {@link VocabularyOrder}. A table capped at {@code C}
 * rows keeps {@code C - 1 - T} values as they are and hashes the rest (the tail) into the last
 * {@code T = max(1, C / 8)} ids.
 *
 * @param minCount values seen fewer times share id 0 (1 keeps everything)
 * @param caps     per table, the most rows it may have (0 = no cap)
 * @param order    how kept values are numbered
 */
public record VocabularySettings(int minCount, int[] caps, VocabularyOrder order) {
    public VocabularySettings {
        if (minCount < 1) {
            throw new IllegalArgumentException("min count must be >= 1, got " + minCount + " (set --min-count)");
        }
        if (caps.length != CriteoSchema.TABLES) {
            throw new IllegalArgumentException("need " + CriteoSchema.TABLES + " caps, got " + caps.length);
        }
        for (int t = 0; t < caps.length; t++) {
            if (caps[t] != 0 && caps[t] < 2) {
                throw new IllegalArgumentException("cap of table " + t + " must be 0 (none) or >= 2, got "
                        + caps[t] + " (set --cap)");
            }
        }
        caps = caps.clone();
        if (order == null) {
            throw new IllegalArgumentException("order must be set");
        }
    }

    /** Everything kept, no caps, first-appearance order. */
    public static VocabularySettings defaults() {
        return new VocabularySettings(1, new int[CriteoSchema.TABLES], VocabularyOrder.FIRST);
    }

    @Override
    public int[] caps() {
        return caps.clone();
    }

    public int cap(int table) {
        return caps[table];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VocabularySettings s && s.minCount == minCount && Arrays.equals(s.caps, caps)
                && s.order == order;
    }

    @Override
    public int hashCode() {
        return minCount * 31 + Arrays.hashCode(caps) * 7 + order.hashCode();
    }

    @Override
    public String toString() {
        return "minCount=" + minCount + " caps=" + Arrays.toString(caps) + " order=" + order;
    }
}

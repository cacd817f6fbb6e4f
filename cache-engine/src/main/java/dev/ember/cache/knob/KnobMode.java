package dev.ember.cache.knob;

/** What the knob maximises per byte of hot-tier memory. */
public enum KnobMode {
    /**
     * Hit rate: the share of lookups served by the hot tier. Greedy by score per byte, which is
     * the optimum of this (fractional-knapsack) objective up to the last row.
     */
    CACHE,
    /**
     * FAE's objective: the share of samples whose ids are all hot. Approximated by assuming the
     * tables independent: {@code P(all hot) = prod_t h_t} with {@code h_t} the hit rate of table
     * t, so the knob maximises {@code sum_t log h_t}. Each table's sorted scores make that
     * concave in its hot rows, so greedy on the marginal gain per byte,
     * {@code log(1 + s / H_t) / bytes_t} ({@code H_t}: the scores of the table's rows already
     * chosen), is optimal for it. Every table gets its hottest row first (with {@code H_t = 0} the
     * gain is infinite: one all-cold table makes every sample cold), and tables that are far from
     * all-hot get rows that a pure hit-rate choice would give elsewhere. FAE's own threshold on
     * access counts is the {@link #CACHE} choice.
     */
    FAE
}

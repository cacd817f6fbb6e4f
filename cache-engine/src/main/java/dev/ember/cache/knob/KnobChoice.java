package dev.ember.cache.knob;

import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.hotset.HotSets;

/**
 * One evaluation of the knob: the chosen rows and what the counters predict for them.
 *
 * @param hotSet       the chosen rows (generation = the incumbent's + 1; a target, not yet published)
 * @param budgetBytes  the budget it was chosen under
 * @param usedBytes    bytes of the chosen rows
 * @param hitRate      predicted share of lookups that hit the hot tier (scores of chosen rows / all scores)
 * @param allHotRate   predicted share of all-hot samples, assuming tables independent (product of per-table hit rates)
 * @param evaluationNanos wall time of the choice
 * @param prepared     its differences against the hot sets, computed on the knob's thread, or null
 */
public record KnobChoice(HotSet hotSet, long budgetBytes, long usedBytes, double hitRate, double allHotRate,
                         long evaluationNanos, HotSets.PreparedTarget prepared) {

    /** Makes this choice the target of {@code sets}, cheaply when it was prepared against them. */
    public void retarget(HotSets sets) {
        if (prepared != null) {
            sets.retarget(prepared);
        } else {
            sets.retarget(hotSet);
        }
    }
}

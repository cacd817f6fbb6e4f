/**
 * Hot sets: which rows the hot tier owns, as immutable per-table Roaring bitmap snapshots with a
 * generation number, and the bounded moves that take one hot set to the next.
 *
 * <p>How a store wires this package with {@code popularity} and {@code knob} (one step thread;
 * batches may be built ahead of time on another):
 * <pre>{@code
 * HotSet g = hotSets.pin(batch);             // batch builder: route every id by g.contains(t, row)
 * ... gather, train, apply ...
 * counters.record(batch);                    // the ids served
 * hotSets.release(batch);                    // once the batch's updates are applied
 *
 * // step boundary (step = steps completed)
 * counters.advanceTo(step);
 * KnobChoice c = knob.onStep(step);          // every N steps, computed in the background
 * if (c != null) hotSets.retarget(c.hotSet());
 * for (int i = 0; i < chunksPerStep && hotSets.planChunk(chunk); i++) {
 *     // demotions: write back dirty rows hot -> cold; promotions: copy cold -> hot
 *     hotSets.commit(chunk);                 // publishes generation + 1
 * }
 * }</pre>
 * Checkpoint: {@code knob.toBytes()} first (it completes a running evaluation and brings the
 * counters up to date), then {@code counters.toBytes()} and {@code hotSets.toBytes()}.
 */
package dev.ember.cache.hotset;

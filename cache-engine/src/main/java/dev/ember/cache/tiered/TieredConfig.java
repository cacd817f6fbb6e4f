package dev.ember.cache.tiered;

import dev.ember.cache.knob.Budget;
import dev.ember.cache.knob.Hysteresis;
import dev.ember.cache.knob.KnobMode;

/**
 * How a {@link TieredStore} runs: the hot budget and the knob, batch sizes (for the staging
 * slots), the chunk size of moves, lookahead and whether every row is resident ({@code device}
 * mode).
 *
 * @param budget          hot-tier bytes for hot rows (staging slots come on top)
 * @param mode            what the knob maximises
 * @param knobPeriod      steps between knob evaluations; 0 = the knob never runs (hot set only
 *                        changes through {@link TieredStore#retarget})
 * @param knobLag         steps from an evaluation's start to its use (0: on the step thread)
 * @param hysteresis      how much a challenger must beat an incumbent row's score by (a share of it
 *                        and standard deviations of its counting noise)
 * @param halfLifeSteps   half-life of the online popularity counters, in steps
 * @param maxBags         most bags (samples) of one table in a batch
 * @param maxIds          most ids of one table in a batch
 * @param chunkRows       most rows one move chunk copies
 * @param chunksPerStep   most chunks moved at one step boundary (bounds the stall)
 * @param prefetchThreads CPU threads reading cold rows of submitted batches ahead (0: read when
 *                        the batch is gathered)
 * @param resident        every row lives in the hot tier (device mode); no knob, no cold reads
 * @param hostThreads     threads, the step thread included, sharing a step's per-table host work
 *                        (deduplication, hot/cold split, write-back of staged rows); 1: the step
 *                        thread alone
 */
public record TieredConfig(Budget budget, KnobMode mode, int knobPeriod, int knobLag, Hysteresis hysteresis,
                           double halfLifeSteps, int maxBags, int maxIds, int chunkRows, int chunksPerStep,
                           int prefetchThreads, boolean resident, int hostThreads) {

    public TieredConfig {
        java.util.Objects.requireNonNull(budget, "budget");
        java.util.Objects.requireNonNull(mode, "mode");
        java.util.Objects.requireNonNull(hysteresis, "hysteresis");
        if (knobPeriod < 0) {
            throw new IllegalArgumentException("knob period must be >= 0 steps, got " + knobPeriod);
        }
        if (maxBags < 1 || maxIds < 1) {
            throw new IllegalArgumentException("maxBags and maxIds must be >= 1, got " + maxBags + ", " + maxIds);
        }
        if (chunkRows < 1 || chunksPerStep < 1) {
            throw new IllegalArgumentException("chunkRows and chunksPerStep must be >= 1, got " + chunkRows + ", " + chunksPerStep);
        }
        if (hostThreads < 1) {
            throw new IllegalArgumentException("host threads must be >= 1, got " + hostThreads);
        }
        if (prefetchThreads < 0) {
            throw new IllegalArgumentException("prefetch threads must be >= 0, got " + prefetchThreads);
        }
        if (!(halfLifeSteps > 0)) {
            throw new IllegalArgumentException("popularity half-life must be > 0 steps, got " + halfLifeSteps);
        }
    }

    /** Defaults for batches of {@code batch} one-hot samples under {@code budget}: cache objective, knob every 100 steps. */
    public static TieredConfig defaults(Budget budget, int batch) {
        return new TieredConfig(budget, KnobMode.CACHE, 100, 1, Hysteresis.ofMargin(0.1), 1000, batch, batch, 4096, 4, 0, false, 1);
    }

    public TieredConfig withMode(KnobMode m) {
        return new TieredConfig(budget, m, knobPeriod, knobLag, hysteresis, halfLifeSteps, maxBags, maxIds, chunkRows,
                chunksPerStep, prefetchThreads, resident, hostThreads);
    }

    public TieredConfig withKnob(int period, int lag) {
        return new TieredConfig(budget, mode, period, lag, hysteresis, halfLifeSteps, maxBags, maxIds, chunkRows,
                chunksPerStep, prefetchThreads, resident, hostThreads);
    }

    public TieredConfig withBatch(int bags, int ids) {
        return new TieredConfig(budget, mode, knobPeriod, knobLag, hysteresis, halfLifeSteps, bags, ids, chunkRows,
                chunksPerStep, prefetchThreads, resident, hostThreads);
    }

    public TieredConfig withChunks(int rows, int perStep) {
        return new TieredConfig(budget, mode, knobPeriod, knobLag, hysteresis, halfLifeSteps, maxBags, maxIds, rows,
                perStep, prefetchThreads, resident, hostThreads);
    }

    public TieredConfig withPrefetchThreads(int threads) {
        return new TieredConfig(budget, mode, knobPeriod, knobLag, hysteresis, halfLifeSteps, maxBags, maxIds, chunkRows,
                chunksPerStep, threads, resident, hostThreads);
    }

    public TieredConfig withResident(boolean on) {
        return new TieredConfig(budget, mode, knobPeriod, knobLag, hysteresis, halfLifeSteps, maxBags, maxIds, chunkRows,
                chunksPerStep, prefetchThreads, on, hostThreads);
    }

    public TieredConfig withBudget(Budget b) {
        return new TieredConfig(b, mode, knobPeriod, knobLag, hysteresis, halfLifeSteps, maxBags, maxIds, chunkRows,
                chunksPerStep, prefetchThreads, resident, hostThreads);
    }

    public TieredConfig withHysteresis(Hysteresis h) {
        return new TieredConfig(budget, mode, knobPeriod, knobLag, h, halfLifeSteps, maxBags, maxIds, chunkRows,
                chunksPerStep, prefetchThreads, resident, hostThreads);
    }

    public TieredConfig withHostThreads(int threads) {
        return new TieredConfig(budget, mode, knobPeriod, knobLag, hysteresis, halfLifeSteps, maxBags, maxIds, chunkRows,
                chunksPerStep, prefetchThreads, resident, threads);
    }
}

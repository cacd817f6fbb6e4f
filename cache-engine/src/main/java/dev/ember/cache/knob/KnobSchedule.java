package dev.ember.cache.knob;

import dev.ember.cache.durability.Blobs;
import dev.ember.cache.hotset.HotSet;
import dev.ember.cache.hotset.HotSets;
import dev.ember.cache.popularity.DecayingCounters;
import dev.ember.cache.table.TableSpec;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * When the knob runs: every {@code period} steps it chooses the next hot set from the
 * counters, on a background thread, and hands the choice back {@code lag} steps later.
 *
 * <p>The step thread calls {@link #onStep(long)} at every step boundary, after moving the
 * counters' clock to that step and before recording the next batch. At a multiple of
 * {@code period} it freezes the counters (they log the accesses meanwhile; see
 * {@link DecayingCounters#freeze()}), reads the budget (so a budget change takes effect at the
 * next evaluation) and starts the choice. Once the choice is made, the knob's thread replays
 * the accesses logged meanwhile into the counters, behind the steps, and the step thread takes
 * them back once a short rest is left, replaying that rest itself
 * ({@link DecayingCounters#replayBehind}); it never waits for a replay at a freeze: the knob's thread replays
 * what an earlier evaluation left up to the new freeze before choosing
 * ({@link DecayingCounters#freezeBehind}). At {@code step + lag} it waits for the choice if still
 * running and returns it; the caller retargets the hot sets to it.
 * So the choice depends only on the counters at a fixed step, the incumbent and the budget:
 * the same run gives the same hot sets whatever the thread timing, and a resumed run the same
 * as an uninterrupted one. {@code lag = 0} chooses on the step thread. When the counters are
 * recorded behind the steps on another thread (a tiered store's counting thread), that thread
 * must be done with every batch before the step when an evaluation starts: {@link #onStep(long,
 * Runnable)} runs the caller's wait first, only then; {@link #onStep(long, Runnable, Executor)}
 * instead hands the evaluation's start (freezing the counters, handing the choice to the knob's
 * thread) to the recorder, which runs it in order once it has counted every batch through that
 * step: the step thread does not wait then, the evaluation reads exactly the same counts, and
 * the step thread waits at {@code step + lag} only if the choice is not made by then.
 *
 * <p>Hysteresis: the incumbent passed to the chooser is the previous choice (the target the
 * hot set moves to), whose rows a challenger must beat by the margin.
 */
public final class KnobSchedule implements AutoCloseable {
    private static final int BLOB_MAGIC = 0x454B5331; // "EKS1"

    private final DecayingCounters counters;
    private final List<TableSpec> tables;
    private final KnobMode mode;
    private final HotRowChooser chooser;
    private final int period;
    private final int lag;
    private final HotSets prepareAgainst;
    private volatile Budget budget;
    /** The knob's thread (lag > 0) and the rebase's (choices prepared against hot sets); null otherwise. */
    private final ExecutorService executor;
    private final ExecutorService rebaser;
    /** The evaluation {@link #start} hands over: read by {@link #beginEvaluation}. */
    private HotSet startBase;
    private long startBudget;
    private CompletableFuture<KnobChoice> startChoice;
    private final Runnable begin = this::beginEvaluation;
    /** The prepared differences being rebased ({@link #rebaseIfDone}). */
    private HotSets.PreparedTarget rebaseTarget;
    private final Runnable rebase = this::rebaseTarget;

    private HotSet incumbent;
    private CompletableFuture<KnobChoice> running;
    /**
     * Steps before a prepared choice is due at which its differences are rebased over the rows
     * moved since its preparation ({@link HotSets#rebase}, off the step thread), so that adopting
     * it on the step thread corrects only the rows moved in these last steps.
     */
    static final int REBASE_AHEAD = 16;
    /**
     * Steps before a choice is due at which a done rebase is made once more, over the rows moved
     * since it ({@code -Dember.knob.rebaseAgain}, default 4; 0: never): adopting a choice costs the
     * step thread in proportion to the rows moved since its last rebase (JMH
     * {@code TieringBenchmarks.retargetPrepared}: 27, 146 and 447 us after 0, 4,096 and 16,384
     * moves), and the first rebase, started early enough to be done in time, leaves up to
     * {@link #REBASE_AHEAD} steps of moves. Read when the schedule is made.
     */
    private final int rebaseAgain = dev.ember.cache.settings.Settings.wholeNumber("ember.knob.rebaseAgain", 4,
            n -> n >= 0 && n < REBASE_AHEAD, "steps before a choice is due, 0 to " + (REBASE_AHEAD - 1));
    /** The rebase of the choice in {@link #running} (null: none started). */
    private CompletableFuture<Void> rebasing;
    /** Whether the choice in {@link #running} was rebased a second time ({@link #rebaseAgain}). */
    private boolean rebasedAgain;
    private KnobChoice ready;
    private long applyStep = -1;
    private volatile KnobChoice lastChoice;
    private volatile long evaluations;
    private volatile long lastWaitNanos;
    private final java.util.concurrent.atomic.LongAdder waitedNanos = new java.util.concurrent.atomic.LongAdder();
    /** The knob's thread's time per evaluation: replaying up to the freeze, choosing, preparing the differences. */
    private final java.util.concurrent.atomic.LongAdder evaluationNanos = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAccumulator longestEvaluationNanos =
            new java.util.concurrent.atomic.LongAccumulator(Math::max, 0);

    /**
     * @param hysteresis what a challenger must beat an incumbent by ({@link Hysteresis#DEFAULT})
     * @param counters  the online counters (the step thread owns their clock and records)
     * @param incumbent the hot set in force now
     * @param period    steps between evaluations, > 0
     * @param lag       steps from an evaluation's start to its use, in [0, period]
     */
    public KnobSchedule(DecayingCounters counters, HotSet incumbent, KnobMode mode, Budget budget, Hysteresis hysteresis,
                        int period, int lag) {
        this(counters, incumbent, mode, budget, hysteresis, period, lag, null);
    }

    /**
     * As above; each choice also comes with its differences against {@code prepareAgainst}
     * computed on the knob's thread ({@link KnobChoice#retarget(HotSets)} then costs the step
     * thread next to nothing).
     */
    public KnobSchedule(DecayingCounters counters, HotSet incumbent, KnobMode mode, Budget budget, Hysteresis hysteresis,
                        int period, int lag, HotSets prepareAgainst) {
        if (period <= 0) {
            throw new IllegalArgumentException("knob period must be > 0 steps, got " + period);
        }
        if (lag < 0 || lag > period) {
            throw new IllegalArgumentException("knob lag must be in [0, period=" + period + "] steps, got " + lag);
        }
        if (!incumbent.tables().equals(counters.tables())) {
            throw new IllegalArgumentException("hot set and counters are over different tables");
        }
        this.counters = counters;
        this.tables = counters.tables();
        this.mode = mode;
        this.budget = budget;
        this.chooser = new HotRowChooser(hysteresis);
        this.period = period;
        this.lag = lag;
        this.incumbent = incumbent;
        this.prepareAgainst = prepareAgainst;
        this.executor = lag > 0 ? daemonThread("ember-knob") : null;
        this.rebaser = lag > 0 && prepareAgainst != null ? daemonThread("ember-knob-rebase") : null;
    }

    /**
     * Call at every step boundary ({@code step} = steps completed). Returns the new choice when
     * one is due at this step, else null.
     */
    public KnobChoice onStep(long step) {
        return onStep(step, null);
    }

    /**
     * As {@link #onStep(long)}; when an evaluation starts at this step, {@code beforeCounts} runs
     * first (non-null), before the counters are read or frozen: where their recorder, behind the
     * steps, catches up with the batches before this step.
     */
    public KnobChoice onStep(long step, Runnable beforeCounts) {
        return onStep(step, beforeCounts, null);
    }

    /**
     * As {@link #onStep(long, Runnable)}, for counters recorded behind the steps: when an
     * evaluation starts at this step with {@code lag > 0} and {@code afterCounts} is non-null, its
     * start (freezing the counters and handing the choice to the knob's thread) is handed to
     * {@code afterCounts} instead, and {@code beforeCounts} does not run. {@code afterCounts} must
     * run it on the counters' recording thread, after every record and clock move handed over
     * before this call and before any handed over after it, so the evaluation reads exactly the
     * counts of this step; the step thread does not wait for them. It must run every task it is
     * given (even after a failure of its own): the choice this step hands out {@code lag} steps
     * later waits for it. With {@code lag = 0} the evaluation runs here, after {@code beforeCounts}.
     */
    public KnobChoice onStep(long step, Runnable beforeCounts, Executor afterCounts) {
        KnobChoice out = null;
        if (running != null && rebasing == null && step < applyStep && step >= applyStep - REBASE_AHEAD) {
            rebaseIfDone();
        } else if (running != null && rebasing != null && !rebasedAgain && step < applyStep
                && step >= applyStep - rebaseAgain && rebasing.isDone() && !rebasing.isCompletedExceptionally()) {
            rebasedAgain = true; // the same preparation, folded over the rows moved since the first rebase
            rebasing = CompletableFuture.runAsync(rebase, rebaser);
        }
        if ((running != null || ready != null) && step >= applyStep) {
            out = complete();
        }
        if (step > 0 && step % period == 0 && running == null && ready == null) {
            if (beforeCounts != null && (lag == 0 || afterCounts == null)) {
                beforeCounts.run();
            }
            start(step, lag == 0 ? null : afterCounts);
            if (lag == 0) {
                out = complete();
            }
        }
        return out;
    }

    /** Sets the budget used from the next evaluation on (safe from any thread, e.g. JMX). */
    public void setBudget(Budget budget) {
        this.budget = java.util.Objects.requireNonNull(budget, "budget");
    }

    public Budget budget() {
        return budget;
    }

    public KnobMode mode() {
        return mode;
    }

    public Hysteresis hysteresis() {
        return chooser.hysteresis();
    }

    /** The last choice handed out, or null. */
    public KnobChoice lastChoice() {
        return lastChoice;
    }

    public long evaluations() {
        return evaluations;
    }

    /**
     * How long the step thread last waited for a running evaluation when its choice fell due
     * (0 when the evaluation had finished in time; raise the lag if it is not).
     */
    public long lastWaitNanos() {
        return lastWaitNanos;
    }

    /** How long the step thread waited for evaluations in all (see {@link #lastWaitNanos()}). */
    public long waitedNanos() {
        return waitedNanos.sum();
    }

    /**
     * Nanoseconds the knob's thread spent on its evaluations (replaying up to the freeze, choosing,
     * preparing the differences), in all; compare the longest with the lag's time.
     */
    public long evaluationNanos() {
        return evaluationNanos.sum();
    }

    /** The longest such evaluation, in nanoseconds. */
    public long longestEvaluationNanos() {
        return longestEvaluationNanos.get();
    }

    /** True while an evaluation has started and not been handed out. */
    public boolean pending() {
        return running != null || ready != null;
    }

    /**
     * Starts an evaluation at {@code step}: on this thread, or, when {@code afterCounts} is
     * non-null, its freeze and hand-over to the knob's thread run there (the counters' recorder,
     * in order); the budget and the incumbent are read here either way.
     */
    private void start(long step, Executor afterCounts) {
        long budgetBytes = budget.resolve(tables);
        HotSet base = incumbent;
        applyStep = step + lag;
        if (lag == 0) {
            freeze();
            ready = chooseAndPrepare(base, budgetBytes);
            counters.thaw(); // nothing was logged: no step passed
            return;
        }
        CompletableFuture<KnobChoice> choice = new CompletableFuture<>();
        running = choice;
        startBase = base;
        startBudget = budgetBytes;
        startChoice = choice;
        if (afterCounts == null) {
            begin.run();
        } else {
            afterCounts.execute(begin);
        }
    }

    /**
     * An evaluation's start behind the step thread (the counters' recorder, or the step thread
     * when none): freezes the counts and hands the choice to the knob's thread. Reads what
     * {@link #start} left in startBase, startBudget and startChoice (set before the hand-over,
     * not again until this choice is handed out). A method made into a task once, and threads
     * started with the schedule: the step thread's first evaluation links and starts nothing
     * (fae, the first tiered mode of a run, had one or two boundaries a run over 1 ms, all in the
     * knob's part and on the step thread's CPU, where {@code cache} after it had none).
     */
    private void beginEvaluation() {
        HotSet base = startBase;
        long budgetBytes = startBudget;
        CompletableFuture<KnobChoice> choice = startChoice;
        long epoch;
        try {
            epoch = counters.freezeBehind(); // no wait for a replay still behind: the knob's thread does it
        } catch (Throwable e) {
            choice.completeExceptionally(e);
            return;
        }
        try {
            executor.execute(() -> {
                try {
                    long t0 = System.nanoTime();
                    counters.replayToFreeze(epoch);
                    KnobChoice made = chooseAndPrepare(base, budgetBytes);
                    long took = System.nanoTime() - t0;
                    evaluationNanos.add(took);
                    longestEvaluationNanos.accumulate(took);
                    choice.complete(made);
                } catch (Throwable e) {
                    choice.completeExceptionally(e);
                }
                counters.replayBehind(epoch); // until the recording thread takes the counts back
            });
        } catch (Throwable e) { // closed meanwhile
            choice.completeExceptionally(e);
            counters.thaw();
        }
    }

    /** Starts the running choice's rebase when it is done and prepared (it runs while the steps go on). */
    private void rebaseIfDone() {
        if (!running.isDone() || running.isCompletedExceptionally() || prepareAgainst == null) {
            return;
        }
        HotSets.PreparedTarget prepared = running.join().prepared();
        if (prepared == null) {
            return;
        }
        rebaseTarget = prepared;
        rebasing = CompletableFuture.runAsync(rebase, rebaser);
    }

    /** The rebase's thread: rebases what {@link #rebaseIfDone} left in rebaseTarget. */
    private void rebaseTarget() {
        prepareAgainst.rebase(rebaseTarget);
    }

    /** One daemon thread at lowered priority, started now. */
    private static ExecutorService daemonThread(String name) {
        java.util.concurrent.ThreadPoolExecutor e = new java.util.concurrent.ThreadPoolExecutor(1, 1, 0,
                java.util.concurrent.TimeUnit.MILLISECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(dev.ember.cache.threads.BackgroundPriority.lowered(r), name);
                    t.setDaemon(true);
                    return t;
                });
        e.prestartAllCoreThreads();
        return e;
    }

    /** The recording thread: freezes the counts of now (after the last evaluation's replay, if late). */
    private long freeze() {
        if (counters.frozen()) {
            counters.catchUp(); // the last evaluation is done; its replay is late (a starved knob thread)
        }
        return counters.freeze();
    }

    private KnobChoice chooseAndPrepare(HotSet base, long budgetBytes) {
        KnobChoice c = chooser.choose(counters, base, budgetBytes, mode, counters.tableRunner());
        if (prepareAgainst == null) {
            return c;
        }
        return new KnobChoice(c.hotSet(), c.budgetBytes(), c.usedBytes(), c.hitRate(), c.allHotRate(), c.evaluationNanos(),
                prepareAgainst.prepare(c.hotSet()));
    }

    /**
     * Waits for the running choice; keeps it in {@code ready}. The counters catch up behind the
     * steps on the knob's thread (see {@link DecayingCounters#replayBehind}).
     */
    private void finish() {
        if (running != null) {
            long start = System.nanoTime();
            try {
                ready = running.get();
                if (rebasing != null) {
                    rebasing.get(); // the step thread adopts the differences only after their rebase
                }
                lastWaitNanos = System.nanoTime() - start;
                waitedNanos.add(lastWaitNanos);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the knob's evaluation", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("the knob's evaluation failed", e.getCause());
            } finally {
                running = null;
                rebasing = null;
                rebasedAgain = false;
            }
        }
    }

    private KnobChoice complete() {
        finish();
        KnobChoice choice = ready;
        ready = null;
        applyStep = -1;
        incumbent = choice.hotSet();
        lastChoice = choice;
        evaluations++;
        return choice;
    }

    /**
     * Checkpoint form. Completes a running evaluation first and brings the counters up to date
     * (which does not change what they will hold), so checkpoint this before the counters.
     */
    public byte[] toBytes() {
        finish();
        counters.catchUp();
        return Blobs.of(out -> {
            out.writeInt(BLOB_MAGIC);
            out.writeUTF(mode.name());
            Budget b = budget;
            out.writeLong(b.bytes());
            out.writeDouble(b.fraction());
            out.writeDouble(chooser.hysteresis().margin());
            out.writeDouble(chooser.hysteresis().sigmas());
            out.writeInt(period);
            out.writeInt(lag);
            out.writeLong(evaluations);
            writeBlob(out, incumbent.toBytes());
            out.writeBoolean(ready != null);
            if (ready != null) {
                out.writeLong(applyStep);
                writeChoice(out, ready);
            }
            out.writeBoolean(lastChoice != null);
            if (lastChoice != null) {
                writeChoice(out, lastChoice);
            }
        });
    }

    /** Restores {@link #toBytes()} over restored counters. */
    public static KnobSchedule fromBytes(byte[] blob, DecayingCounters counters) {
        return fromBytes(blob, counters, null);
    }

    /** Restores {@link #toBytes()} over restored counters, preparing choices against restored hot sets. */
    public static KnobSchedule fromBytes(byte[] blob, DecayingCounters counters, HotSets prepareAgainst) {
        List<TableSpec> tables = counters.tables();
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(blob));
            if (in.readInt() != BLOB_MAGIC) {
                throw new IllegalArgumentException("not a knob blob (bad magic)");
            }
            KnobMode mode = KnobMode.valueOf(in.readUTF());
            Budget budget = new Budget(in.readLong(), in.readDouble());
            Hysteresis hysteresis = new Hysteresis(in.readDouble(), in.readDouble());
            int period = in.readInt();
            int lag = in.readInt();
            long evaluations = in.readLong();
            HotSet incumbent = HotSet.fromBytes(readBlob(in), tables);
            KnobSchedule s = new KnobSchedule(counters, incumbent, mode, budget, hysteresis, period, lag, prepareAgainst);
            s.evaluations = evaluations;
            if (in.readBoolean()) {
                s.applyStep = in.readLong();
                s.ready = readChoice(in, tables);
            }
            if (in.readBoolean()) {
                s.lastChoice = readChoice(in, tables);
            }
            return s;
        } catch (IOException e) {
            throw new IllegalArgumentException("truncated knob blob", e);
        }
    }

    private static void writeChoice(DataOutput out, KnobChoice c) throws IOException {
        writeBlob(out, c.hotSet().toBytes());
        out.writeLong(c.budgetBytes());
        out.writeLong(c.usedBytes());
        out.writeDouble(c.hitRate());
        out.writeDouble(c.allHotRate());
        out.writeLong(c.evaluationNanos());
    }

    private static KnobChoice readChoice(DataInputStream in, List<TableSpec> tables) throws IOException {
        HotSet h = HotSet.fromBytes(readBlob(in), tables);
        // A restored choice has no prepared differences: its retarget recomputes them once.
        return new KnobChoice(h, in.readLong(), in.readLong(), in.readDouble(), in.readDouble(), in.readLong(), null);
    }

    private static void writeBlob(DataOutput out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    private static byte[] readBlob(DataInputStream in) throws IOException {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return b;
    }

    @Override
    public void close() {
        if (executor != null) {
            executor.shutdownNow();
        }
        if (rebaser != null) {
            rebaser.shutdownNow();
        }
    }
}

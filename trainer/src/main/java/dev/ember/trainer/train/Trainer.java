package dev.ember.trainer.train;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.durability.Manifest;
import dev.ember.cache.knob.Hysteresis;
import dev.ember.cache.knob.KnobMode;
import dev.ember.cache.popularity.SamplingProfiler;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.cache.tiered.TieredConfig;
import dev.ember.cache.tiered.TieredStore;
import dev.ember.gpu.device.Backend;
import dev.ember.gpu.device.CudaDevice;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceException;
import dev.ember.gpu.device.DeviceSelector;
import dev.ember.gpu.pool.SlotPool;
import dev.ember.trainer.data.Batch;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.data.DataPart;
import dev.ember.trainer.jmx.TrainerStatus;
import dev.ember.trainer.model.DenseBackend;
import dev.ember.trainer.model.ModelConfig;
import dev.ember.trainer.model.ModelState;
import dev.ember.trainer.model.OptimizerSettings;
import dev.ember.trainer.model.StepLoss;
import dev.ember.trainer.model.cpu.CpuDenseBackend;
import dev.ember.trainer.model.cuda.CudaDenseBackend;
import java.nio.file.Files;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.function.Function;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains one mode over a converted data set: batches from the mode's {@link BatchSource} (file
 * order; FAE's hot/cold interleaving), embeddings through the mode's {@link EmbeddingPath}, the
 * dense model on a {@link DenseBackend}, checkpoints into the store (the model's weights as the
 * manifest blob {@value #MODEL_BLOB}), then an evaluation.
 *
 * <p>In file order the data position is the step: step {@code s} trains on batch
 * {@code s mod batches}, so a resumed run continues exactly where its checkpoint stopped. FAE's
 * position (window start, batches trained) is the manifest blob {@value FaeBatches#BLOB}.
 *
 * <p><b>Look-ahead.</b> The tiered modes announce the next batches to the embedding path while
 * the device runs a step ({@code ahead}: the batch trained next, then those announced), so their
 * host work overlaps it; never past the next evaluation (a forward-only lookup needs none in
 * flight) nor, in fae, past the end of a window (rows move before the next one):
 *
 * <pre>
 *  fae, depth 2:  window k: ... | b29 | b30 b31 |       | window k+1: b0 | b1 b2 | ...
 *                               train  announced   moves               train  announced
 * </pre>
 */
public final class Trainer {
    /** Debug lines mark where training starts and each checkpoint's begin and end (the crash tests read them). */
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);
    /** Adagrad-style epsilon for embedding optimizers that need one. */
    public static final float EMBEDDING_EPS = 1e-8f;
    /** The MLPs' Adagrad epsilon (PyTorch's default). */
    public static final float DENSE_EPS = 1e-10f;
    public static final String MODEL_BLOB = "model";
    /** Batches the cache mode announces ahead (their misses are read meanwhile). */
    public static final int CACHE_LOOKAHEAD = 2;
    /**
     * Batches the fae mode announces ahead inside a window, never across its end
     * ({@code -Dember.fae.lookahead}, default {@value #CACHE_LOOKAHEAD} as cache; 0: none): their
     * deduplication, hot/cold split and cold reads overlap the device's step. Bit-identical to 0.
     */
    public static final int FAE_LOOKAHEAD = Integer.getInteger("ember.fae.lookahead", CACHE_LOOKAHEAD);
    /** Batches per FAE classification window. */
    public static final int FAE_WINDOW_BATCHES = 32;
    /**
     * Steps between knob evaluations in the tiered modes ({@code -Dember.knob.period}, default 600).
     * An evaluation's choice runs during the lag; the accesses logged meanwhile are replayed by
     * the knob's thread after it, and must be caught up by the next evaluation, or the step thread
     * waits. Measured in cache mode over 10M samples, same hit rate (0.854): H200 607K samples/s at
     * 200/190 against 711K at 400/390 (docs/runs/2026-11-26-H200-final2); H100, one call, 696K at
     * 400/390, 789K at 400/300, 876K at 600/400 (docs/runs/2026-11-26-H100-knob).
     */
    public static final int KNOB_PERIOD = Integer.getInteger("ember.knob.period", 600);
    /**
     * Steps between the knob's evaluation start and its use: longer than an evaluation takes (0.4-1 s
     * over millions of counted rows; BENCHMARKS.md, knob evaluation), so the step thread never
     * waits for it. The counters log accesses meanwhile and the knob's thread replays them
     * ({@code -Dember.knob.lag}, default 400; at most the period).
     */
    public static final int KNOB_LAG = Math.min(KNOB_PERIOD, Integer.getInteger("ember.knob.lag", 400));
    /**
     * The knob's hysteresis: a challenger row must beat an incumbent hot row's score by 10%, and
     * by {@code -Dember.knob.sigmas} standard deviations of its counting noise (default 1). On a
     * stationary stream the rows at the hot set's edge have counts so small that their noise far
     * exceeds 10%, and they flap: on an H200 (10M samples, cache alone, one machine) sigmas 0 / 1
     * / 2 demoted 578K / 376K / 308K rows at hit rates 0.853 / 0.856 / 0.856, 1.75M / 1.90M /
     * 1.84M samples/s (docs/runs/2026-11-27-H200-seventh). 2 re-tiered a drift too slowly for
     * TieredDriftTest (95% of the oracle's hit rate within W steps); 1 passes it.
     */
    static long movePlanMicros() {
        return dev.ember.cache.settings.Settings.wholeNumber("ember.move.planMicros", MOVE_PLAN_MICROS, n -> n >= 0,
                "a step boundary's move planning time needs a whole number of microseconds >= 0 (0: no limit)");
    }

    /**
     * Microseconds after a step boundary's start at which its move planning stops, by default
     * ({@code -Dember.move.planMicros}; 0: none): checking whether rows are in use costs 0.2-1 us a
     * row, the most right after a retarget, when a plan of 384 rows each way took 0.75-0.82 ms of
     * boundaries of 1.03-1.13 ms on an H200 (docs/runs/2026-11-28-H200-twelfth).
     */
    public static final int MOVE_PLAN_MICROS = 400;

    static int moveChunkRows() {
        return dev.ember.cache.settings.Settings.wholeNumber("ember.move.chunkRows", MOVE_CHUNK_ROWS, n -> n >= 1,
                "the moves a step boundary makes each way need a whole number >= 1");
    }

    static Hysteresis knobHysteresis() {
        String sigmas = System.getProperty("ember.knob.sigmas", "1");
        try {
            return new Hysteresis(0.1, Double.parseDouble(sigmas));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("-Dember.knob.sigmas=" + sigmas + ": " + e.getMessage()
                    + " (standard deviations of counting noise, 0 to 10)", e);
        }
    }

    /**
     * Moves a step boundary makes at most each way (one chunk), by default: the step thread's
     * bookkeeping, about 1 us a moved row, keeps re-tiering's stall near issue 4's 1 ms; the
     * knob's backlog drains at this rate. {@code -Dember.move.chunkRows} sets it ({@link #moveChunkRows}).
     * 384 against 512 on an H200, fae then cache in one JVM, alternated twice: cache 2.25M / 2.23M
     * against 2.14M / 1.91M samples/s, its longest boundary 1.05-1.06 ms against 1.21-1.47 ms, hit
     * rate 0.854 against 0.856 (docs/runs/2026-11-27-H200-eighth/call14-chunk-rows-6d8d5b6).
     */
    public static final int MOVE_CHUNK_ROWS = 384;
    /** Points on a learning curve when no evaluation period is given. */
    public static final int CURVE_POINTS = 20;
    /** Held-out samples a periodic evaluation reads (fewer when {@code --eval-samples} is smaller). */
    public static final int CURVE_EVAL_SAMPLES = 4096;

    private final TrainSettings settings;
    private final ModelConfig model;
    private final TrainerStatus status = new TrainerStatus();
    private long evalEvery;
    private Curve curve;
    private final Function<String, Device> devices;
    private final boolean hostOnDeviceLoss;
    private int faeLookahead = FAE_LOOKAHEAD;
    private int knobPeriod = KNOB_PERIOD;
    private int knobLag = KNOB_LAG;

    public Trainer(TrainSettings settings, ModelConfig model) {
        this(settings, model, DeviceSelector::open, false);
    }

    /**
     * @param devices          opens the hot-tier device by name (tests wrap it to inject faults)
     * @param hostOnDeviceLoss when the device fails mid-run ({@link DeviceException}): true goes
     *                         back to the last checkpoint and continues on the host device; false
     *                         stops with the device's error (the last checkpoint stands)
     */
    public Trainer(TrainSettings settings, ModelConfig model, Function<String, Device> devices, boolean hostOnDeviceLoss) {
        this.settings = settings;
        this.model = model;
        this.devices = devices;
        this.hostOnDeviceLoss = hostOnDeviceLoss;
    }

    /**
     * Steps between periodic evaluations on a held-out slice (the learning curve); 0 picks about
     * {@value #CURVE_POINTS} points a run.
     */
    public Trainer evalEvery(long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("--eval-every must be >= 0, got " + steps);
        }
        this.evalEvery = steps;
        return this;
    }

    /**
     * Batches the fae mode announces ahead of the one it trains, inside a window (default
     * {@link #FAE_LOOKAHEAD}); any depth trains the same model bit for bit.
     */
    public Trainer faeLookahead(int depth) {
        this.faeLookahead = checkLookahead(depth);
        return this;
    }

    /**
     * Steps between the knob's evaluations and from an evaluation to its use (default
     * {@link #KNOB_PERIOD}, {@link #KNOB_LAG}): tests use short ones so that rows move within a
     * short run.
     */
    Trainer knob(int period, int lag) {
        if (period < 1 || lag < 0 || lag > period) {
            throw new IllegalArgumentException("knob period must be >= 1 and its lag in 0..period, got " + period + "/" + lag);
        }
        this.knobPeriod = period;
        this.knobLag = lag;
        return this;
    }

    /** The tiered store opens {@code depth + 3} batch buffers of its {@code STAGING_AREAS} (8), evaluation's included. */
    private static int checkLookahead(int depth) {
        if (depth < 0 || depth > 4) {
            throw new IllegalArgumentException("fae look-ahead must be in 0..4 batches (-Dember.fae.lookahead), got " + depth);
        }
        return depth;
    }

    /** The live status, also the {@code dev.ember:type=Trainer} MXBean while {@link #run} trains. */
    public TrainerStatus status() {
        return status;
    }

    /** The learning curve of the last {@link #run}; null before. */
    public Curve curve() {
        return curve;
    }

    /** Specs of the store's tables: one per data table, SGD rows of the model's width. */
    public static List<TableSpec> tableSpecs(BinaryDataset data, int tables, int dim) {
        return tableSpecs(data, tables, dim, Optimizer.SGD);
    }

    /** Specs of the store's tables: one per data table, rows of the model's width updated by {@code optimizer}. */
    public static List<TableSpec> tableSpecs(BinaryDataset data, int tables, int dim, Optimizer optimizer) {
        List<TableSpec> specs = new ArrayList<>();
        for (int t = 0; t < tables; t++) {
            specs.add(new TableSpec(String.format("t%02d", t), Math.max(1, data.rows(t)), dim, optimizer));
        }
        return specs;
    }

    /** Training losses read one step late (the device runs ahead of the host by a step) and summed per curve window. */
    private static final class LossWindow {
        private StepLoss pending;
        private long pendingStep;
        private int pendingCount;
        private double last = Double.NaN;
        private double sum;
        private long steps;

        void pending(StepLoss loss, long step, int count) {
            pending = loss;
            pendingStep = step;
            pendingCount = count;
        }

        /** Reads the pending loss, if any (waits for its step on a device). */
        void read(TrainerStatus status, long trainNanos) {
            if (pending != null) {
                last = pending.mean();
                sum += last;
                steps++;
                status.onStep(pendingStep, pendingCount, last, trainNanos);
                pending = null;
            }
        }

        double last() {
            return last;
        }

        double windowMean() {
            return steps == 0 ? Double.NaN : sum / steps;
        }

        void newWindow() {
            sum = 0;
            steps = 0;
        }
    }

    /** The hot tier of a tiered mode: a device and its slot pool, closed after the tiered store. */
    private static final class HotRig implements AutoCloseable {
        final Device device;
        final SlotPool pool;

        HotRig(Device device, SlotPool pool) {
            this.device = device;
            this.pool = pool;
        }

        @Override
        public void close() {
            if (pool != null) {
                pool.close();
            }
            if (device != null) {
                device.close();
            }
        }
    }

    /** Runs the mode; {@code onStep} hears each finished step (progress bars, MXBeans). */
    public ModeResult run(BinaryDataset data, LongConsumer onStep) {
        try {
            return runOnce(data, onStep);
        } catch (DeviceException e) {
            if (!hostOnDeviceLoss || !settings.mode().tiered()) {
                throw e;
            }
            // Everything is closed; the store reopens at its last checkpoint (the one that saved the
            // device's rows, when it still answered).
            LOG.warn("{}; continuing from that checkpoint on the host device", e.getMessage());
            TrainSettings onHost = settings.resumedOn("host");
            return new Trainer(onHost, model, devices, false).evalEvery(evalEvery).faeLookahead(faeLookahead)
                    .knob(knobPeriod, knobLag).run(data, onStep);
        }
    }

    private ModeResult runOnce(BinaryDataset data, LongConsumer onStep) {
        DataPart train = data.train();
        int batchSize = settings.batchSize();
        long batches = train.batches(batchSize);
        if (batches == 0) {
            throw new IllegalArgumentException("the training part has " + train.samples() + " samples, fewer than one batch of "
                    + batchSize + "; lower --batch or use more data");
        }
        Mode mode = settings.mode();
        Recipe recipe = settings.recipe();
        long epochSteps = batches * recipe.epochs();
        // fae's batch count is known only as it classifies; it stops after the recipe's passes
        long steps = settings.steps() > 0 ? settings.steps() : mode == Mode.FAE ? Long.MAX_VALUE : epochSteps;
        int tables = model.tables();
        long planned = settings.steps() > 0 ? settings.steps() : epochSteps;
        long every = evalEvery > 0 ? evalEvery : Math.max(1, planned / CURVE_POINTS);
        long curveSamples = settings.evalSamples() > 0 ? Math.min(settings.evalSamples(), CURVE_EVAL_SAMPLES)
                : CURVE_EVAL_SAMPLES;
        try (TrainerStatus.Registration bean = status.register();
             Store store = openStore(data, tables);
             HotRig rig = openHot(store);
             EmbeddingPath path = openPath(store, rig, tables);
             DenseBackend backend = openDense(rig.device, initialModel(store), batchSize)) {
            if (path instanceof TieredEmbeddings te && backend instanceof CudaDenseBackend cuda && rig.pool != null) {
                te.handOffTo(new DeviceHandoff(rig.device, rig.pool, cuda));
            }
            if (rig.pool != null && mode != Mode.DEVICE) {
                LOG.info("{}: hot tier: {} of {} tables translate rows to slots through a direct index (4 bytes a table row),"
                        + " the rest through hashed maps ({}=auto|direct|hashed)", mode.label(), rig.pool.directIndexes(),
                        tables, dev.ember.gpu.pool.RowSlotIndex.PROPERTY);
            }
            boolean onDevice = path.poolsOnDevice();
            long first = settings.resume() && store.lastCheckpoint() != null ? store.lastCheckpoint().step() : 0;
            double profileSeconds = 0;
            TieredStore tiered = path instanceof TieredEmbeddings te ? te.store() : null;
            if (tiered != null && mode != Mode.DEVICE && first == 0 && tiered.hotSet().totalHotRows() == 0) {
                long t0 = System.nanoTime();
                new SamplingProfiler(SamplingProfiler.DEFAULT_RATE, settings.seed())
                        .profileInto(profileBatches(train, batchSize, tables), tiered.popularity());
                tiered.chooseAndSettle();
                profileSeconds = (System.nanoTime() - t0) / 1e9;
            }
            FaeBatches fae = mode == Mode.FAE
                    ? new FaeBatches(train, tiered, tables, batchSize, FAE_WINDOW_BATCHES,
                    settings.steps() == 0 ? recipe.epochs() : 0) : null;
            if (fae != null && first > 0) {
                byte[] window = store.lastCheckpoint().blobs().get(FaeBatches.BLOB);
                if (window != null) {
                    fae.resume(window);
                } else {
                    LOG.warn("checkpoint at step {} has no fae window position; fae windows start again at the data's start",
                            first);
                }
            }
            BatchSource source = fae != null ? fae : new SequentialBatches(train, batchSize, first);
            int depth = path.lookahead();
            ArrayDeque<Batch> spare = new ArrayDeque<>();
            ArrayDeque<Batch> ahead = new ArrayDeque<>();
            ArrayDeque<Boolean> aheadHot = new ArrayDeque<>();
            for (int i = 0; i <= depth; i++) {
                spare.add(new Batch(batchSize));
            }
            float[][] pooled = new float[tables][batchSize * model.dim()];
            float[][] grads = new float[tables][batchSize * model.dim()];
            Batch evalBatch = new Batch(batchSize);
            PathCounters c = path.counters();
            curve = new Curve(mode.label(), (int) Math.min(1 << 16, (planned - first) / every + 3));
            status.start(mode.label(), first, planned);
            LossWindow losses = new LossWindow();
            long trained = 0;
            long step = first;
            boolean more = true;
            // timing: training time excludes evaluations; steps split by whether their batch was all hot
            long evalNanos = 0;
            long hotStepNanos = 0;
            long coldStepNanos = 0;
            long hotSteps = 0;
            long coldSteps = 0;
            // window sums since the last curve point
            long[] mark = new long[4];
            long nextEval = first + every;
            float denseLr = Float.NaN;
            int announced = 0; // batches at the head of ahead already announced to the path
            long start = System.nanoTime();
            long cpuStart = processCpuNanos();
            dev.ember.gpu.device.DeviceCalls.Counts calls0 = rig.device.calls().counts();
            CollectorTimes collected0 = CollectorTimes.now();
            LOG.debug("training from step {}", first);
            // Where a device failure leaves the state (see afterDeviceFault): between a batch's lookup and
            // the end of its rows' update a step is half done. fae's position counts the batches reported
            // trained: those still ahead, or failed, are not.
            boolean inStep = false;
            long trainNanos;
            double hostCores = Double.NaN;
            try {
                if (first == 0) {
                    evalNanos += curvePoint(data, batchSize, curveSamples, path, backend, evalBatch, pooled, 0, first,
                            Double.NaN, c, mark);
                }
                while (step < steps) {
                    // announce no batch past the next evaluation: a forward-only lookup needs none in flight;
                    // nor past a window's end: rows move before the next window, with no batch in flight
                    while (more && ahead.size() <= depth && step + ahead.size() < Math.min(steps, nextEval)
                            && (ahead.isEmpty() || !source.nextStartsWindow())) {
                        Batch next = spare.pollFirst();
                        more = source.next(next);
                        if (!more) {
                            spare.addFirst(next);
                            break;
                        }
                        ahead.addLast(next);
                        aheadHot.addLast(source.lastWasHot());
                    }
                    if (ahead.isEmpty()) {
                        break;
                    }
                    Batch batch = ahead.pollFirst();
                    boolean hot = aheadHot.pollFirst();
                    long stepStart = System.nanoTime(); // the step's time includes announcing, wherever it comes
                    // With this batch announced and two or more ahead, the next are announced
                    // before its lookup, so the store's threads split them during the whole step
                    // (this batch's index arrays were staged in the step before); else after (the
                    // path submits this one at its lookup, batches going in in order, or a look-ahead
                    // of one would have this lookup wait for the next batch's split).
                    boolean announceFirst = ANNOUNCE_FIRST && depth >= 2 && announced > 0;
                    announced = Math.max(0, announced - 1); // announced batches are a prefix of ahead
                    if (announceFirst) {
                        announced = announceAhead(path, ahead, announced, depth);
                    }
                    int count = batch.size();
                    // the step's step sizes depend on the step only, so a resumed run continues exactly
                    float warmup = recipe.warmupFactor(step);
                    if (recipe.denseLr() * warmup != denseLr) {
                        denseLr = recipe.denseLr() * warmup;
                        backend.setLearningRate(denseLr);
                    }
                    if (path instanceof TieredEmbeddings te) {
                        te.expectHot(hot);
                    }
                    path.lookup(batch, pooled);
                    inStep = true; // a gathered batch: only its update (or nothing) makes a whole step again
                    backend.putDense(batch.dense(), 0, count);
                    for (int t = 0; t < tables && !onDevice; t++) {
                        backend.putEmbedding(t, pooled[t], 0, count);
                    }
                    backend.putLabels(batch.labels(), 0, count);
                    // The last step's loss is read only now, so the host prepared this batch while the
                    // device still ran that step (the loss handle lives until the next forward pass).
                    losses.read(status, System.nanoTime() - start - evalNanos);
                    losses.pending(backend.step(count), step + 1, count);
                    // The next batches are announced while the device runs this step: their host work
                    // (deduplication, hot/cold split, cold reads) overlaps it.
                    if (!announceFirst) {
                        announced = announceAhead(path, ahead, announced, depth);
                    }
                    for (int t = 0; t < tables && !onDevice; t++) {
                        backend.getEmbeddingGradient(t, grads[t], 0, count);
                    }
                    path.update(grads, recipe.embeddingLr() * warmup);
                    if (fae != null) {
                        fae.trained();
                    }
                    inStep = false;
                    long stepNanos = System.nanoTime() - stepStart;
                    if (path.lastBatchAllHot()) {
                        hotStepNanos += stepNanos;
                        hotSteps++;
                    } else {
                        coldStepNanos += stepNanos;
                        coldSteps++;
                    }
                    spare.addLast(batch);
                    trained += count;
                    step++;
                    if (settings.checkpointEvery() > 0 && step % settings.checkpointEvery() == 0) {
                        checkpoint(store, tiered, step, backend, fae);
                    }
                    if (step == nextEval) {
                        losses.read(status, System.nanoTime() - start - evalNanos);
                        evalNanos += curvePoint(data, batchSize, curveSamples, path, backend, evalBatch, pooled,
                                System.nanoTime() - start - evalNanos, step, losses.windowMean(), c, mark);
                        losses.newWindow();
                        nextEval += every;
                    }
                    onStep.accept(step);
                }
                losses.read(status, System.nanoTime() - start - evalNanos);
                trainNanos = System.nanoTime() - start - evalNanos;
                hostCores = coresBusy(cpuStart, start);
                if (curve.lastStep() != step) {
                    curvePoint(data, batchSize, curveSamples, path, backend, evalBatch, pooled, trainNanos, step,
                            losses.windowMean(), c, mark);
                }
                checkpoint(store, tiered, step, backend, fae);
            } catch (DeviceException e) {
                long boundary = !inStep ? step
                        : path instanceof TieredEmbeddings te && te.stepsApplied() == step + 1 ? step + 1 : -1;
                if (fae != null && inStep && boundary == step + 1) {
                    fae.trained(); // its rows were updated; the failure came at the step boundary after
                }
                throw afterDeviceFault(e, rig.device.name(), store, tiered, backend, fae, boundary, step);
            }
            double seconds = trainNanos / 1e9;
            Evaluation eval = Evaluation.run(data.test(), batchSize, settings.evalSamples(), path, backend, evalBatch, pooled);
            status.onEval(step, eval.auc(), eval.logLoss());
            String device = rig.device.backend().id() + (backend instanceof CpuDenseBackend && rig.device.backend() != Backend.HOST
                    ? "+cpu-mlp" : "");
            if (steps > first && c.lookupNanos.sum() > 0) {
                double n = (double) (step - first) * 1e6;
                // The phases split the step's wall time: announcing happens between the dense step's launch and the update.
                LOG.info("{}: step thread per step: {} ms announcing batches ahead, {} ms lookups, {} ms dense step and copies, {} ms updates;"
                                + " the process kept {} of {} cores busy on average while it trained",
                        mode.label(), String.format("%.3f", c.prefetchNanos.sum() / n), String.format("%.3f", c.lookupNanos.sum() / n),
                        String.format("%.3f", (hotStepNanos + coldStepNanos - c.lookupNanos.sum() - c.updateNanos.sum()
                                - c.prefetchNanos.sum()) / n),
                        String.format("%.3f", c.updateNanos.sum() / n), String.format("%.1f", hostCores),
                        Runtime.getRuntime().availableProcessors());
                dev.ember.gpu.device.DeviceCalls.Counts calls = rig.device.calls().counts().since(calls0);
                LOG.info("{}: device calls per step: {} kernel launches, {} graph launches, {} copies and fills"
                                + " ({} KB to the device, {} KB to the host, {} KB within it)",
                        mode.label(), String.format("%.1f", calls.kernels() * 1e6 / n), String.format("%.1f", calls.graphs() * 1e6 / n),
                        String.format("%.1f", calls.copies() * 1e6 / n), String.format("%.1f", calls.bytesToDevice() * 1e6 / n / 1024),
                        String.format("%.1f", calls.bytesToHost() * 1e6 / n / 1024),
                        String.format("%.1f", calls.bytesOnDevice() * 1e6 / n / 1024));
                if (store != null) {
                    LOG.info("{}: cold tier: {}", mode.label(), store.coldTraffic());
                }
                if (tiered != null) {
                    LOG.info("{}: tiered store: {}", mode.label(), tiered.phases().perStep(step - first));
                    LOG.info("{}: step boundaries over 1 ms, by the JVM's uptime at their end: {}", mode.label(),
                            tiered.phases().slowBoundaryTimes());
                    LOG.info("{}: the JVM's collections while it trained: {}", mode.label(), CollectorTimes.now().since(collected0));
                    if (tiered.slowBoundaryStacks() != null) {
                        LOG.info("{}: the step thread in boundaries past 1 ms (-Dember.boundary.watch):\n  {}", mode.label(),
                                tiered.slowBoundaryStacks());
                    }
                    LOG.info("{}: re-tiering behind the steps: {}", mode.label(), tiered.moveWaits());
                    if (fae != null) {
                        LOG.info("{}: between steps: {}", mode.label(), fae.windowTimes());
                    }
                }
            }
            long promoted = tiered == null ? 0 : tiered.hotSets().promotedRows();
            long demoted = tiered == null ? 0 : tiered.hotSets().demotedRows();
            return new ModeResult(mode.label(), device, step, trained, batchSize, seconds,
                    trained / Math.max(seconds, 1e-9), eval.auc(), eval.logLoss(), eval.accuracy(), losses.last(),
                    c.hitRate(), c.hostGathers.sum(), c.coldGatherNanos.sum() / 1e9, eval.samples(),
                    c.hotSampleFraction(), c.hotBatches.sum(), c.coldBatches.sum(), c.hotBatchHostGathers.sum(),
                    promoted, demoted, profileSeconds,
                    hotSteps == 0 ? Double.NaN : hotStepNanos / 1e6 / hotSteps,
                    coldSteps == 0 ? Double.NaN : coldStepNanos / 1e6 / coldSteps, hotSteps, coldSteps, hostCores);
        }
    }

    /**
     * Evaluates the held-out slice and adds a curve point whose window columns cover the steps since
     * {@code mark} (hot ids, cold ids, hot samples, samples at the previous point), then moves the
     * mark. Returns the nanoseconds it took, which training time leaves out.
     */
    private long curvePoint(BinaryDataset data, int batchSize, long samples, EmbeddingPath path, DenseBackend backend,
                            Batch batch, float[][] pooled, long trainNanos, long step, double trainLoss,
                            PathCounters c, long[] mark) {
        long t0 = System.nanoTime();
        Evaluation e = Evaluation.run(data.test(), batchSize, samples, path, backend, batch, pooled);
        long hot = c.hotIds.sum();
        long cold = c.coldIds.sum();
        long hotSamples = c.hotSamples.sum();
        long all = c.samples.sum();
        curve.add(trainNanos / 1e9, step, trainLoss, e.auc(), e.logLoss(), windowRatio(hot - mark[0], cold - mark[1]),
                windowRatio(hotSamples - mark[2], all - mark[3] - (hotSamples - mark[2])));
        mark[0] = hot;
        mark[1] = cold;
        mark[2] = hotSamples;
        mark[3] = all;
        status.onEval(step, e.auc(), e.logLoss());
        return System.nanoTime() - t0;
    }

    /** {@code a / (a + b)}, NaN when both are 0 (an empty window). */
    private static double windowRatio(long a, long b) {
        long n = a + b;
        return n == 0 ? Double.NaN : (double) a / n;
    }

    /** The MLPs run where the device is: cuBLAS on CUDA; plain Java on the host and beside OpenCL. */
    private DenseBackend openDense(Device device, ModelState initial, int batchSize) {
        if (device instanceof CudaDevice cuda) {
            return new CudaDenseBackend(cuda, initial, batchSize);
        }
        return new CpuDenseBackend(initial, batchSize, settings.threads());
    }

    private HotRig openHot(Store store) {
        Device device = devices.apply(settings.device());
        if (!settings.mode().tiered()) {
            return new HotRig(device, null);
        }
        try {
            checkFits(store, device);
            SlotPool pool = new SlotPool(device, store.tables().get(0).spec().layout(), 1 << 20);
            return new HotRig(device, pool);
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
    }

    /** A budget (or, in device mode, all rows) beyond the device's memory is a usage error naming the option. */
    private void checkFits(Store store, Device device) {
        List<TableSpec> specs = store.tables().stream().map(t -> t.spec()).toList();
        long total = device.totalMemory();
        String where = " the device " + device.backend().id() + " has " + total + " bytes";
        if (settings.mode() == Mode.DEVICE) {
            long all = (long) dev.ember.cache.knob.Budget.totalBytes(specs);
            if (all > total) {
                throw new IllegalArgumentException("--mode device needs all " + all + " bytes of embedding rows on the device;"
                        + where + "; use --mode cache or fae with a --budget below that");
            }
        } else {
            long wanted = settings.budget().resolve(specs);
            if (wanted > total) {
                throw new IllegalArgumentException("--budget asks for " + wanted + " bytes of hot rows;" + where
                        + "; lower --budget");
            }
        }
    }

    /**
     * {@code -Dember.announce.first=false}: the next batches are announced after the step's
     * lookup and dense step, not before its lookup (for comparing runs; the same model).
     */
    static final boolean ANNOUNCE_FIRST = !"false".equals(System.getProperty("ember.announce.first"));

    /** Announces the batches of {@code ahead} past the first {@code announced}, up to {@code depth}; returns how many are announced. */
    private static int announceAhead(EmbeddingPath path, ArrayDeque<Batch> ahead, int announced, int depth) {
        if (announced >= Math.min(depth, ahead.size())) {
            return announced;
        }
        int i = 0;
        for (Batch b : ahead) {
            if (i++ >= announced) {
                path.prefetch(b);
            }
            if (i == depth) {
                break;
            }
        }
        return Math.min(depth, ahead.size());
    }

    private EmbeddingPath openPath(Store store, HotRig rig, int tables) {
        Mode mode = settings.mode();
        if (!mode.tiered()) {
            return new ColdEmbeddings(store, tables, settings.batchSize());
        }
        int b = settings.batchSize();
        TieredConfig config = TieredConfig.defaults(settings.budget(), b)
                .withKnob(knobPeriod, knobLag)
                .withHysteresis(knobHysteresis())
                .withChunks(moveChunkRows(), 1)
                .withMode(mode == Mode.FAE ? KnobMode.FAE : KnobMode.CACHE)
                .withPrefetchThreads(mode == Mode.CACHE || mode == Mode.FAE && checkLookahead(faeLookahead) > 0
                        ? Math.max(1, Math.min(8, settings.threads())) : 0)
                .withHostThreads(Math.max(1, Math.min(8, settings.threads())))
                .withResident(mode == Mode.DEVICE);
        TieredStore tiered = TieredStore.open(store, rig.pool, config);
        tiered.stopPlanningAfter(movePlanMicros());
        long first = settings.resume() ? store.lastCheckpoint().step() : 0;
        try {
            // device: one batch ahead, so its deduplication overlaps the device's step
            int depth = mode == Mode.CACHE ? CACHE_LOOKAHEAD : mode == Mode.FAE ? faeLookahead : mode == Mode.DEVICE ? 1 : 0;
            return new TieredEmbeddings(tiered, tables, depth, mode != Mode.FAE, first);
        } catch (RuntimeException e) {
            tiered.close();
            throw e;
        }
    }

    /** The training part as batches of per-table bags, for the profiler. */
    private static Iterator<PooledBatch[]> profileBatches(DataPart train, int batchSize, int tables) {
        long batches = train.batches(batchSize);
        Batch batch = new Batch(batchSize);
        PooledBatch[] perTable = new PooledBatch[tables];
        for (int t = 0; t < tables; t++) {
            perTable[t] = new PooledBatch(batchSize, batchSize);
        }
        return new Iterator<>() {
            long next;

            @Override
            public boolean hasNext() {
                return next < batches;
            }

            @Override
            public PooledBatch[] next() {
                if (next >= batches) {
                    throw new NoSuchElementException();
                }
                long first = next * batchSize;
                int count = (int) Math.min(batchSize, train.samples() - first);
                train.dataset().read(train.start() + first, count, batch);
                for (int t = 0; t < tables; t++) {
                    ColdEmbeddings.fill(perTable[t], batch, t);
                }
                next++;
                return perTable;
            }
        };
    }

    private Store openStore(BinaryDataset data, int tables) {
        if (settings.resume() && Files.exists(settings.storeDir().resolve(Store.MANIFEST))) {
            Store store = Store.open(settings.storeDir(), StoreConfig.existing());
            Optimizer kept = store.tables().get(0).spec().optimizer();
            if (kept != settings.recipe().embeddingOptimizer()) {
                store.close();
                throw new IllegalArgumentException("store " + settings.storeDir() + " holds rows for the " + Recipe.label(kept)
                        + " optimizer; resume with --embedding-optimizer " + Recipe.label(kept));
            }
            return store;
        }
        if (Files.exists(settings.storeDir().resolve(Store.MANIFEST))) {
            throw new IllegalArgumentException("store " + settings.storeDir()
                    + " already holds a model; pass --resume to continue it or choose another --store");
        }
        return Store.create(settings.storeDir(), StoreConfig.builder()
                .tables(tableSpecs(data, tables, model.dim(), settings.recipe().embeddingOptimizer()))
                .seed(settings.seed())
                .threads(Math.max(1, settings.threads()))
                .build());
    }

    private ModelState initialModel(Store store) {
        Manifest last = settings.resume() ? store.lastCheckpoint() : null;
        Recipe r = settings.recipe();
        if (last != null && last.blobs().containsKey(MODEL_BLOB)) {
            ModelState saved = ModelState.fromBytes(last.blobs().get(MODEL_BLOB));
            if (saved.optimizer().kind() != r.denseOptimizer()) {
                String kept = saved.optimizer().kind().name().toLowerCase(Locale.ROOT);
                throw new IllegalArgumentException("store " + settings.storeDir() + " holds MLPs trained with " + kept
                        + "; resume with --dense-optimizer " + kept);
            }
            return saved;
        }
        return ModelState.initial(model, new OptimizerSettings(r.denseOptimizer(), r.denseLr(), DENSE_EPS), settings.seed());
    }

    /**
     * After the hot tier's device failed mid-run: when the failure left a whole step
     * ({@code boundary}; -1 when it came between a batch's lookup and the end of its update, where
     * the MLP may have stepped and some tables' rows not) and the device still answers,
     * its dirty hot rows go to the cold tier with the MLP weights and the data position in a
     * checkpoint at that step, so nothing is lost; else (a lost device cannot be read) the
     * store's last checkpoint stands. Returns the error to throw, saying which.
     */
    private static DeviceFailedException afterDeviceFault(DeviceException e, String device, Store store, TieredStore tiered,
                                                          DenseBackend backend, FaeBatches fae, long boundary, long step) {
        long last = store.lastCheckpoint().step();
        String failed = "device " + device + " failed at step " + step + " (" + e.getMessage() + ")";
        String lost = "; the store's last checkpoint, step " + last + ", stands and the steps after it are lost";
        if (tiered == null) {
            return new DeviceFailedException(failed + lost, e, last, false);
        }
        if (boundary < 0) {
            return new DeviceFailedException(failed + " in the middle of a step (between its lookup and the end of its update)"
                    + lost, e, last, false);
        }
        if (boundary == last) {
            return new DeviceFailedException(failed + "; nothing was trained since the store's last checkpoint, step "
                    + last, e, last, true);
        }
        try {
            LOG.debug("checkpoint begins at step {} (saving the failed device's rows)", boundary);
            tiered.checkpointAfterDeviceFault(boundary, new long[0], blobs(backend, fae));
            LOG.debug("checkpoint done at step {}", boundary);
        } catch (RuntimeException second) {
            e.addSuppressed(second);
            return new DeviceFailedException(failed + "; its rows could not be read back (" + second.getMessage() + ")" + lost,
                    e, last, false);
        }
        return new DeviceFailedException(failed + "; the device still answered and its hot rows were saved: the store's "
                + "last checkpoint is step " + boundary + ", nothing is lost", e, boundary, true);
    }

    private static Map<String, byte[]> blobs(DenseBackend backend, FaeBatches fae) {
        return fae == null ? Map.of(MODEL_BLOB, backend.saveState().toBytes())
                : Map.of(MODEL_BLOB, backend.saveState().toBytes(), FaeBatches.BLOB, fae.toBytes());
    }

    private static void checkpoint(Store store, TieredStore tiered, long step, DenseBackend backend, FaeBatches fae) {
        LOG.debug("checkpoint begins at step {}", step);
        Map<String, byte[]> blobs = blobs(backend, fae);
        if (tiered != null) {
            tiered.checkpoint(step, new long[0], blobs);
        } else {
            store.checkpoint(step, new long[0], blobs);
        }
        LOG.debug("checkpoint done at step {}", step);
    }

    /** The JVM's CPU time so far (every thread), or -1 where the platform does not say. */
    private static long processCpuNanos() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os ? os.getProcessCpuTime() : -1;
    }

    /** Cores the process kept busy on average since {@code cpuStart} / {@code wallStart} (NaN if unknown). */
    private static double coresBusy(long cpuStart, long wallStart) {
        long cpu = processCpuNanos();
        long wall = System.nanoTime() - wallStart;
        return cpu < 0 || cpuStart < 0 || wall <= 0 ? Double.NaN : (double) (cpu - cpuStart) / wall;
    }
}

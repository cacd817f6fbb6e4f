package dev.ember.trainer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ember.cache.knob.Budget;
import dev.ember.cache.tiered.BudgetText;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.data.CriteoSchema;
import dev.ember.trainer.data.convert.ConvertResult;
import dev.ember.trainer.data.convert.ConvertSettings;
import dev.ember.trainer.data.convert.Converter;
import dev.ember.trainer.data.gen.GenSettings;
import dev.ember.trainer.data.gen.Generator;
import dev.ember.trainer.model.ModelConfig;
import dev.ember.trainer.jmx.TrainerStatus;
import dev.ember.trainer.report.RunReport;
import dev.ember.trainer.train.Curve;
import dev.ember.cache.table.Optimizer;
import dev.ember.trainer.model.DenseOptimizer;
import dev.ember.trainer.train.Mode;
import dev.ember.trainer.train.Recipe;
import dev.ember.trainer.train.ModeResult;
import dev.ember.trainer.train.TrainSettings;
import dev.ember.trainer.train.Trainer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ember train}: trains DLRM on a data file (or, with no {@code --data}, on generated
 * Criteo-shaped data kept under {@code ember-runs/}), one mode after another, then prints a
 * table and one JSON line per mode.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train DLRM with embeddings in Ember's tiered store.",
                "With no arguments: generates Criteo-shaped data under ember-runs/, trains each mode in a "
                        + "store of its own, evaluates on the held-out part, and reports."})
public final class TrainCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--data", paramLabel = "FILE",
            description = "Criteo TSV (.gz allowed) or a folder made by `ember convert`; default: generated data")
    Path data;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "all",
            description = "baseline, fae, cache, device, a comma-separated list, or all (default: ${DEFAULT-VALUE})")
    String mode;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto",
            description = "hot-tier device of the tiered modes: auto (best found), cuda, opencl or host (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--budget", paramLabel = "BYTES|FRACTION", defaultValue = "0.1",
            description = "hot-tier budget of fae and cache: bytes (64MiB) or a fraction of all embedding bytes (0.1, 10%%)"
                    + " (default: ${DEFAULT-VALUE})")
    String budget;

    @Option(names = "--samples", paramLabel = "N", defaultValue = "200000",
            description = "samples of generated data when no --data is given (default: ${DEFAULT-VALUE})")
    long samples;

    @Option(names = "--scale", paramLabel = "X", defaultValue = "0.02",
            description = "generated tables are the Kaggle sizes times X (default: ${DEFAULT-VALUE})")
    double scale;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "256",
            description = "batch size (default: ${DEFAULT-VALUE}; the GPU figures use 2048)")
    int batch;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "0",
            description = "training steps; 0 = --epochs passes over the training part (default: ${DEFAULT-VALUE})")
    long steps;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "1",
            description = "passes over the training part when --steps is 0 (default: ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--lr", paramLabel = "RATE", defaultValue = "1.0",
            description = "step size of the MLPs where --dense-lr is not given, and of SGD embedding tables where"
                    + " --embedding-lr is not given (default: ${DEFAULT-VALUE})")
    float lr;

    @Option(names = "--embedding-optimizer", paramLabel = "NAME", defaultValue = "rowwise-adagrad",
            description = "embedding tables' update: sgd, rowwise-adagrad (one accumulator a row) or adagrad (one a weight);"
                    + " its state is stored with each row (default: ${DEFAULT-VALUE})")
    String embeddingOptimizer;

    @Option(names = "--embedding-lr", paramLabel = "RATE",
            description = "embedding tables' step size (default: " + Recipe.ADAGRAD_EMBEDDING_LR + " for the Adagrad kinds,"
                    + " --lr for sgd)")
    Float embeddingLr;

    @Option(names = "--dense-optimizer", paramLabel = "NAME", defaultValue = "sgd",
            description = "MLPs' update: sgd or adagrad (default: ${DEFAULT-VALUE})")
    String denseOptimizer;

    @Option(names = "--dense-lr", paramLabel = "RATE", description = "MLPs' step size (default: --lr)")
    Float denseLr;

    @Option(names = "--warmup-steps", paramLabel = "N", defaultValue = "0",
            description = "both step sizes grow linearly to their value over the first N steps; 0 = none"
                    + " (default: ${DEFAULT-VALUE})")
    long warmupSteps;

    @Option(names = "--arch-mlp-bot", paramLabel = "W-W-..", defaultValue = "13-512-256-64-16",
            description = "bottom MLP widths, input first; the last is the embedding dimension (default: ${DEFAULT-VALUE})")
    String archMlpBot;

    @Option(names = "--arch-mlp-top", paramLabel = "W-..-1", defaultValue = "512-256-1",
            description = "top MLP widths after the interaction, ending in 1 (default: ${DEFAULT-VALUE})")
    String archMlpTop;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "model, store and data seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--threads", paramLabel = "N", description = "host threads (default: all cores)")
    Integer threads;

    @Option(names = "--run-dir", paramLabel = "DIR",
            description = "folder for this run's stores (default: ember-runs/run-<time>)")
    Path runDir;

    @Option(names = "--store", paramLabel = "DIR",
            description = "the store folder of a single mode (default: <run-dir>/store-<mode>)")
    Path store;

    @Option(names = "--resume", description = "continue the store's last checkpoint (needs --store or --run-dir)")
    boolean resume;

    @Option(names = "--checkpoint-every", paramLabel = "STEPS", defaultValue = "0",
            description = "steps between checkpoints; 0 = at the end only (default: ${DEFAULT-VALUE})")
    long checkpointEvery;

    @Option(names = "--eval-samples", paramLabel = "N", defaultValue = "0",
            description = "held-out samples to evaluate; 0 = all (default: ${DEFAULT-VALUE})")
    long evalSamples;

    @Option(names = "--eval-every", paramLabel = "STEPS", defaultValue = "0",
            description = "steps between evaluations on a held-out slice of " + Trainer.CURVE_EVAL_SAMPLES
                    + " samples (the learning curves; their time is left out of training time);"
                    + " 0 = about " + Trainer.CURVE_POINTS + " a mode (default: ${DEFAULT-VALUE})")
    long evalEvery;

    @Option(names = "--report", paramLabel = "DIR",
            description = "write summary.json and PNG plots (AUC and loss against time, hit rate, hot-sample fraction) into DIR")
    Path report;

    @Option(names = "--no-progress", description = "no progress bar")
    boolean noProgress;

    @Option(names = "--on-device-loss", paramLabel = "stop|host", defaultValue = "stop",
            description = "when the hot-tier device fails mid-run: stop (the last checkpoint stands; --resume later) or host"
                    + " (go back to the last checkpoint and continue on the host device) (default: ${DEFAULT-VALUE})")
    String onDeviceLoss;

    @Option(names = "--jmx-port", paramLabel = "PORT",
            description = "serve remote JMX on this port (with --jmx-password-file); default: none, local attach only")
    Integer jmxPort;

    @Option(names = "--jmx-host", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
            description = "address remote JMX listens on (default: ${DEFAULT-VALUE})")
    String jmxHost;

    @Option(names = "--jmx-password-file", paramLabel = "FILE",
            description = "JDK JMX password file (`role password` lines, chmod 600); required by --jmx-port")
    Path jmxPasswordFile;

    @Option(names = "--jmx-access-file", paramLabel = "FILE", description = "JDK JMX access file (`role readonly|readwrite`)")
    Path jmxAccessFile;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        List<String> bad = new ArrayList<>();
        EnumSet<Mode> modes = parseModes(mode, bad);
        if (data != null && !Files.exists(data)) {
            bad.add("--data: no such file or folder: " + data);
        }
        if (samples < 1000) {
            bad.add("--samples must be >= 1000, got " + samples);
        }
        if (!(scale > 0 && scale <= 1)) {
            bad.add("--scale must be in (0, 1], got " + scale);
        }
        if (resume && store == null && runDir == null) {
            bad.add("--resume needs --store or --run-dir (the store to continue)");
        }
        if (evalEvery < 0) {
            bad.add("--eval-every must be >= 0 (0 = about " + Trainer.CURVE_POINTS + " evaluations a mode), got " + evalEvery);
        }
        if (report != null && Files.exists(report) && !Files.isDirectory(report)) {
            bad.add("--report: " + report + " is a file; name a folder");
        }
        if (store != null && modes.size() > 1) {
            bad.add("--store names one store: pick one --mode, or use --run-dir");
        }
        Budget hotBudget = TrainSettings.DEFAULT_BUDGET;
        try {
            hotBudget = BudgetText.parse(budget, "--budget");
        } catch (IllegalArgumentException e) {
            bad.add(e.getMessage());
        }
        ModelConfig model = null;
        try {
            model = ModelConfig.dlrm(CriteoSchema.TABLES, archMlpBot, archMlpTop);
            if (model.denseFeatures() != CriteoSchema.DENSE) {
                bad.add("--arch-mlp-bot must start with " + CriteoSchema.DENSE + " (the dense features), got '" + archMlpBot + "'");
            }
        } catch (IllegalArgumentException e) {
            bad.add(e.getMessage());
        }
        String deviceName = device.trim().toLowerCase(Locale.ROOT);
        int threadCount = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        bad.addAll(TrainSettings.problems(batch, steps, lr, threadCount, evalSamples, checkpointEvery, deviceName));
        Recipe recipe = recipe(bad);
        if (!onDeviceLoss.equals("stop") && !onDeviceLoss.equals("host")) {
            bad.add("--on-device-loss must be stop or host, got '" + onDeviceLoss + "'");
        }
        bad.addAll(RemoteJmx.problems(jmxPort, jmxHost, jmxPasswordFile, jmxAccessFile));
        List<TrainSettings> runs = new ArrayList<>();
        Path dir = runDir != null ? runDir : Path.of("ember-runs", "run-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        for (Mode m : bad.isEmpty() ? modes : EnumSet.noneOf(Mode.class)) {
            try {
                runs.add(new TrainSettings(m, store != null ? store : dir.resolve("store-" + m.label()), batch, steps,
                        lr, seed, threadCount, evalSamples, checkpointEvery, resume, !noProgress, deviceName, hotBudget,
                        recipe));
            } catch (IllegalArgumentException e) {
                if (!bad.contains(e.getMessage())) {
                    bad.add(e.getMessage());
                }
            }
        }
        if (!bad.isEmpty()) {
            bad.forEach(m -> err.println("ember train: " + m));
            return EmberCli.EXIT_USAGE;
        }
        BinaryDataset dataset;
        try {
            dataset = BinaryDataset.open(prepareData(out, threadCount));
        } catch (IllegalArgumentException e) {
            err.println("ember train: " + e.getMessage());
            return EmberCli.EXIT_USAGE;
        }
        try (RemoteJmx jmx = jmxPort == null ? null : RemoteJmx.start(jmxHost, jmxPort, jmxPasswordFile, jmxAccessFile)) {
            if (jmx != null) {
                err.println("ember train: remote JMX (password authentication) at " + jmx.address());
            }
            return train(out, err, runs, dataset, model);
        }
    }

    private int train(PrintWriter out, PrintWriter err, List<TrainSettings> runs, BinaryDataset dataset, ModelConfig model)
            throws Exception {
        List<ModeResult> results = new ArrayList<>();
        List<Curve> curves = new ArrayList<>();
        for (TrainSettings s : runs) {
            Files.createDirectories(s.storeDir().toAbsolutePath().getParent());
            long total = s.steps() > 0 ? s.steps() : dataset.train().batches(s.batchSize());
            try (ProgressBar bar = progress(s, total)) {
                Trainer trainer = new Trainer(s, model, dev.ember.gpu.device.DeviceSelector::open,
                        onDeviceLoss.equals("host")).evalEvery(evalEvery);
                TrainerStatus status = trainer.status();
                long[] last = {0};
                ModeResult r = trainer.run(dataset, step -> {
                    if (bar != null) {
                        bar.stepTo(Math.min(step, total));
                        long now = System.nanoTime();
                        if (now - last[0] > 500_000_000L) {
                            bar.setExtraMessage(progressMessage(status));
                            last[0] = now;
                        }
                    }
                });
                results.add(r);
                curves.add(trainer.curve());
            } catch (IllegalArgumentException e) {
                err.println("ember train: " + s.mode().label() + ": " + e.getMessage());
                return EmberCli.EXIT_USAGE; // settings that do not fit the data, the store or the device
            } catch (IllegalStateException | dev.ember.gpu.device.DeviceException | dev.ember.cache.store.StoreException
                     | java.io.UncheckedIOException e) {
                // a full disk, a damaged store, a lost device: one line; the last checkpoint stands
                err.println("ember train: " + s.mode().label() + ": " + e.getMessage());
                return 1;
            }
        }
        printTable(out, results);
        ObjectMapper json = new ObjectMapper();
        for (ModeResult r : results) {
            out.println(json.writeValueAsString(r));
        }
        out.flush();
        if (report != null) {
            try {
                List<String> plots = RunReport.write(report, reportSettings(runs), results, curves);
                err.println("ember train: report in " + report + " (" + RunReport.SUMMARY + ", " + String.join(", ", plots) + ")");
            } catch (java.io.IOException | RuntimeException | Error e) {
                // the training results are on stdout already; say what failed and where
                err.println("ember train: --report " + report + ": " + withRootCause(e));
                return 1;
            }
        }
        return 0;
    }

    /** The recipe the options describe, or null after adding what is wrong with them to {@code bad}. */
    private Recipe recipe(List<String> bad) {
        Optimizer embedding = Recipe.parseEmbeddingOptimizer(embeddingOptimizer);
        if (embedding == null) {
            bad.add("--embedding-optimizer must be sgd, rowwise-adagrad or adagrad, got '" + embeddingOptimizer + "'");
        }
        DenseOptimizer dense = Recipe.parseDenseOptimizer(denseOptimizer);
        if (dense == null) {
            bad.add("--dense-optimizer must be sgd or adagrad, got '" + denseOptimizer + "'");
        }
        float eLr = embeddingLr != null ? embeddingLr : embedding == Optimizer.SGD ? lr : Recipe.ADAGRAD_EMBEDDING_LR;
        float dLr = denseLr != null ? denseLr : lr;
        // a step size taken from --lr is --lr's problem, reported once
        List<String> problems = Recipe.problems(epochs, embedding, eLr, dense, dLr, warmupSteps).stream()
                .filter(m -> !m.contains("optimizer is missing"))
                .filter(m -> embeddingLr != null || embedding != Optimizer.SGD || !m.startsWith("--embedding-lr"))
                .filter(m -> denseLr != null || !m.startsWith("--dense-lr")).toList();
        if (embedding == null || dense == null || !problems.isEmpty() || !(lr > 0 && lr < 100)) {
            bad.addAll(problems);
            return null;
        }
        return new Recipe(epochs, embedding, eLr, dense, dLr, warmupSteps);
    }

    /** The progress bar's message: recent rate, loss, last held-out AUC. */
    static String progressMessage(TrainerStatus status) {
        double auc = status.getLastEvalAuc();
        return String.format(Locale.ROOT, "%,.0f samples/s, loss %.4f%s", status.getSamplesPerSecond(), status.getLoss(),
                Double.isNaN(auc) ? "" : String.format(Locale.ROOT, ", AUC %.4f", auc));
    }

    /** The run's settings as summary.json records them. */
    private Map<String, Object> reportSettings(List<TrainSettings> runs) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("data", data == null ? "generated" : data.toString());
        if (data == null) {
            m.put("samples", samples);
            m.put("scale", scale);
        }
        m.put("modes", runs.stream().map(r -> r.mode().label()).toList());
        TrainSettings s = runs.get(0);
        m.put("device", s.device());
        m.put("budget", budget);
        m.put("batch", s.batchSize());
        m.put("steps", s.steps());
        m.put("learningRate", s.learningRate());
        Recipe recipe = s.recipe();
        m.put("epochs", recipe.epochs());
        m.put("embeddingOptimizer", Recipe.label(recipe.embeddingOptimizer()));
        m.put("embeddingLr", recipe.embeddingLr());
        m.put("denseOptimizer", recipe.denseOptimizer().name().toLowerCase(Locale.ROOT));
        m.put("denseLr", recipe.denseLr());
        m.put("warmupSteps", recipe.warmupSteps());
        m.put("seed", s.seed());
        m.put("threads", s.threads());
        m.put("evalSamples", s.evalSamples());
        m.put("evalEvery", evalEvery);
        m.put("curveEvalSamples", Trainer.CURVE_EVAL_SAMPLES);
        m.put("checkpointEvery", s.checkpointEvery());
        m.put("resume", s.resume());
        m.put("stores", runs.stream().map(r -> r.storeDir().toString()).toList());
        return m;
    }

    private Path prepareData(PrintWriter out, int threadCount) throws Exception {
        Path tsv = data;
        if (tsv == null) {
            Path dir = Path.of("ember-runs", "data");
            Files.createDirectories(dir);
            tsv = dir.resolve(String.format(Locale.ROOT, "synthetic-%d-x%s-s%d.tsv", samples, scale, seed));
            if (!Files.exists(tsv)) {
                out.printf("generating %,d Criteo-shaped samples into %s%n", samples, tsv);
                out.flush();
                Generator.run(GenSettings.defaults(tsv, samples, seed).withScale(scale).withThreads(threadCount)
                        .withProgress(!noProgress));
            }
        }
        if (Files.isDirectory(tsv)) {
            return tsv.resolve(BinaryDataset.DATA_FILE);
        }
        ConvertResult r = new Converter(ConvertSettings.defaults(tsv).withThreads(threadCount)
                .withProgress(!noProgress)).run();
        if (!r.upToDate()) {
            out.printf("converted %,d samples (%,d malformed lines skipped) into %s%n", r.samples(), r.malformed(), r.outDir());
        }
        return r.outDir().resolve(BinaryDataset.DATA_FILE);
    }

    private ProgressBar progress(TrainSettings s, long total) {
        if (!s.progress()) {
            return null;
        }
        // the bar shows steps done, elapsed time and ETA; the message the rate, loss and last AUC
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(s.mode().label()).setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII).continuousUpdate();
        if (System.console() == null) {
            // not a terminal (a log, a pipe): the 80 columns assumed would cut the message off
            b.setMaxRenderedLength(132);
        }
        return b.build();
    }

    static EnumSet<Mode> parseModes(String text, List<String> bad) {
        if (text.equalsIgnoreCase("all")) {
            return EnumSet.allOf(Mode.class);
        }
        EnumSet<Mode> modes = EnumSet.noneOf(Mode.class);
        for (String part : text.split(",")) {
            try {
                modes.add(Mode.valueOf(part.trim().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                bad.add("--mode: unknown mode '" + part.trim() + "'; known: all, "
                        + String.join(", ", EnumSet.allOf(Mode.class).stream().map(Mode::label).toList()));
            }
        }
        return modes;
    }

    /**
     * One row per mode. hot smp: share of samples in all-hot batches; hot/cold ms: mean step time
     * (lookup to update) of all-hot batches and of the others; host rows: rows gathered through the
     * host; cold s: seconds in those gathers.
     */
    static void printTable(PrintWriter out, List<ModeResult> results) {
        out.printf("%n%-9s %-7s %8s %12s %7s %8s %8s %8s %8s %8s %8s %12s %8s %9s %9s%n", "mode", "device", "steps",
                "samples/s", "AUC", "logloss", "accuracy", "hot smp", "hit rate", "hot ms", "cold ms", "host rows",
                "cold s", "promoted", "demoted");
        for (ModeResult r : results) {
            out.printf(Locale.ROOT, "%-9s %-7s %8d %,12.0f %7.4f %8.4f %8.4f %8.3f %8.3f %8s %8s %,12d %8.2f %,9d %,9d%n",
                    r.mode(), r.device(), r.steps(), r.samplesPerSecond(), r.auc(), r.logLoss(), r.accuracy(),
                    r.hotSampleFraction(), r.hitRate(), millis(r.hotStepMillis()), millis(r.coldStepMillis()),
                    r.hostGathers(), r.coldGatherSeconds(), r.rowsPromoted(), r.rowsDemoted());
        }
    }

    private static String millis(double ms) {
        return Double.isNaN(ms) ? "-" : String.format(Locale.ROOT, "%.2f", ms);
    }

    /** The failure and, where it wraps others, the innermost one (a font manager's InternalError hides its reason). */
    public static String withRootCause(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root == e ? e.toString() : e + ", caused by " + root;
    }
}

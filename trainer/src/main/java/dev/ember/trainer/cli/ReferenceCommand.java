package dev.ember.trainer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.data.convert.ConvertSettings;
import dev.ember.trainer.data.convert.Converter;
import dev.ember.trainer.data.gen.Ceilings;
import dev.ember.trainer.reference.LogisticReference;
import dev.ember.trainer.reference.OracleBound;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ember reference}: fits {@link LogisticReference} (float64 logistic regression of the
 * planted form) to a data set's training part and scores its held-out part, beside the generator's
 * ceilings when the data is generated, to show what the data lets any model of that form learn.
 */
@Command(name = "reference", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fit a float64 logistic regression (bias, one weight per dense feature, one per table row; "
                + "Gaussian prior on row weights) to the training part and report its held-out AUC, beside the "
                + "generator's planted and learnable ceilings when <data>.json holds them."})
public final class ReferenceCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "FILE",
            description = "Criteo TSV (.gz allowed; converted as `ember train` does) or a folder made by `ember convert`")
    Path data;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "8",
            description = "passes of per-sample Adagrad over the training part (default: ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--prior-std", paramLabel = "S", defaultValue = "0.37",
            description = "standard deviation of the Gaussian prior on row weights; the generator's per-table spread"
                    + " is 0.37 (default: ${DEFAULT-VALUE})")
    double priorStd;

    @Option(names = "--lr", paramLabel = "RATE", defaultValue = "0.1",
            description = "Adagrad step size (default: ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--eval-samples", paramLabel = "N", defaultValue = "0",
            description = "held-out samples to score; 0 = all (default: ${DEFAULT-VALUE})")
    long evalSamples;

    @Option(names = "--threads", paramLabel = "N", description = "conversion threads (default: all cores)")
    Integer threads;

    @Option(names = "--oracle",
            description = "also score the oracle bound: each signal row's posterior-mean weight given its training"
                    + " samples and everything else from the generator, recomputed from the converted data: the"
                    + " generator's learnable ceiling (needs one-hot generated data without drift and <data>.json)")
    boolean oracle;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        List<String> bad = new ArrayList<>();
        if (!Files.exists(data)) {
            bad.add("--data: no such file or folder: " + data);
        }
        if (threads != null && threads < 1) {
            bad.add("--threads must be >= 1, got " + threads);
        }
        LogisticReference.Settings settings = null;
        try {
            settings = new LogisticReference.Settings(epochs, priorStd, lr, evalSamples);
        } catch (IllegalArgumentException e) {
            bad.add(e.getMessage());
        }
        if (!bad.isEmpty()) {
            bad.forEach(m -> err.println("ember reference: " + m));
            return EmberCli.EXIT_USAGE;
        }
        Path folder = data;
        Ceilings ceilings = null;
        if (!Files.isDirectory(data)) {
            int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
            folder = new Converter(ConvertSettings.defaults(data).withThreads(n)).run().outDir();
            Path json = data.resolveSibling(data.getFileName() + ".json");
            if (Files.exists(json)) {
                try {
                    ceilings = Ceilings.read(json);
                } catch (java.io.IOException e) {
                    err.println("ember reference: " + e.getMessage());
                    return 1;
                }
            }
        }
        if (oracle && ceilings == null) {
            err.println("ember reference: --oracle needs generated data: pass the TSV that `ember gen-data` wrote, with its"
                    + " .json beside it");
            return EmberCli.EXIT_USAGE;
        }
        BinaryDataset dataset = BinaryDataset.open(folder.resolve(BinaryDataset.DATA_FILE));
        OracleBound.Result bound = null;
        if (oracle) {
            bound = new OracleBound(dataset, folder.resolve("vocab"), ceilings).run();
            out.printf(Locale.ROOT, "oracle bound: held-out AUC %.4f (the generator's learnable ceiling: %.4f); planted %.4f"
                            + " and true weights of seen rows %.4f recomputed here%n", bound.oracleAuc(),
                    ceilings.learnableAuc(), bound.plantedAuc(), bound.trueWeightsOfSeenRowsAuc());
            out.flush();
        }
        long t0 = System.nanoTime();
        LogisticReference.Epoch last = new LogisticReference(dataset, settings).fit(e -> {
            out.printf(Locale.ROOT, "epoch %d: train objective %.5f, held-out AUC %.4f, log loss %.5f%n", e.epoch(),
                    e.trainObjective(), e.auc(), e.logLoss());
            out.flush();
        });
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", "float64 logistic regression, Gaussian prior on row weights");
        m.put("trainSamples", dataset.train().samples());
        m.put("heldOutSamples", evalSamples > 0 ? Math.min(evalSamples, dataset.test().samples()) : dataset.test().samples());
        m.put("epochs", epochs);
        m.put("priorStd", priorStd);
        m.put("lr", lr);
        m.put("seconds", (System.nanoTime() - t0) / 1e9);
        m.put("auc", last.auc());
        m.put("logLoss", last.logLoss());
        if (ceilings != null) {
            m.put("plantedAuc", ceilings.plantedAuc());
            m.put("learnableAuc", ceilings.learnableAuc());
            m.put("trueWeightsOfSeenRowsAuc", ceilings.trueWeightsOfSeenRowsAuc());
            m.put("trueWeightsMinCount", ceilings.trueWeightsMinCount());
        }
        if (bound != null) {
            m.put("oracleAuc", bound.oracleAuc());
            m.put("oraclePlantedAuc", bound.plantedAuc());
            m.put("oracleTrueWeightsOfSeenRowsAuc", bound.trueWeightsOfSeenRowsAuc());
        }
        out.println(new ObjectMapper().writeValueAsString(m));
        return 0;
    }
}

package dev.ember.trainer.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.ember.trainer.train.Curve;
import dev.ember.trainer.train.ModeResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A run's report folder ({@code ember train --report DIR}):
 * <pre>
 *  summary.json     {"settings": {...}, "modes": [one object per mode, the JSON line's fields],
 *                    "curves": [{"mode", "seconds", "step", "trainLoss", "auc", "logLoss",
 *                                "hitRate", "hotSampleFraction"}], "plots": [file names]}
 *  auc.png          held-out AUC against training time, one line per mode
 *  loss.png         held-out and training loss against training time
 *  hit-rate.png     hit rate over time
 *  hot-samples.png  share of samples in all-hot batches over time
 * </pre>
 * Curve values that have no meaning (an empty window) are {@code null} in summary.json.
 */
public final class RunReport {
    public static final String SUMMARY = "summary.json";

    private RunReport() {
    }

    /**
     * Writes summary.json, then the plots. Returns the plot file names. A failure to draw (a JVM
     * without fonts, say) still leaves summary.json and is rethrown.
     */
    public static List<String> write(Path dir, Map<String, Object> settings, List<ModeResult> results,
                                     List<Curve> curves) throws IOException {
        Files.createDirectories(dir);
        List<String> plots = List.of("auc.png", "loss.png", "hit-rate.png", "hot-samples.png");
        writeSummary(dir, settings, results, curves, plots);
        List<String> made = Plots.write(dir, curves);
        if (!made.equals(plots)) {
            writeSummary(dir, settings, results, curves, made);
        }
        return made;
    }

    private static void writeSummary(Path dir, Map<String, Object> settings, List<ModeResult> results,
                                     List<Curve> curves, List<String> plots) throws IOException {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("settings", settings);
        root.put("modes", results);
        List<Map<String, Object>> cs = new ArrayList<>();
        for (Curve c : curves) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("mode", c.mode());
            m.put("seconds", nullable(c.seconds()));
            m.put("step", c.steps());
            m.put("trainLoss", nullable(c.trainLoss()));
            m.put("auc", nullable(c.auc()));
            m.put("logLoss", nullable(c.logLoss()));
            m.put("hitRate", nullable(c.hitRate()));
            m.put("hotSampleFraction", nullable(c.hotFraction()));
            cs.add(m);
        }
        root.put("curves", cs);
        root.put("plots", plots);
        Path tmp = dir.resolve(SUMMARY + ".tmp");
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(tmp.toFile(), root);
        Files.move(tmp, dir.resolve(SUMMARY), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static List<Double> nullable(double[] v) {
        List<Double> out = new ArrayList<>(v.length);
        for (double d : v) {
            out.add(Double.isFinite(d) ? d : null);
        }
        return out;
    }
}

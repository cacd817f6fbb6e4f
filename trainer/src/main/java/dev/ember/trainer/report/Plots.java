package dev.ember.trainer.report;

import dev.ember.trainer.train.Curve;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The report's PNG plots, one line per mode against training time: held-out AUC, loss (held-out
 * solid, training dashed), hit rate, and the share of samples in all-hot batches.
 */
final class Plots {
    static final int WIDTH = 960;
    static final int HEIGHT = 560;
    /** A fixed colour per mode, so every plot of a report reads the same way. */
    private static final Map<String, Color> COLORS = Map.of(
            "baseline", new Color(0xD6, 0x27, 0x28),
            "fae", new Color(0x1F, 0x77, 0xB4),
            "cache", new Color(0x2C, 0xA0, 0x2C),
            "device", new Color(0x94, 0x67, 0xBD));
    private static final BasicStroke DASHED = new BasicStroke(1.6f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f,
            new float[] {7f, 5f}, 0f);

    private Plots() {
    }

    /** Writes the plots into {@code dir}; returns their file names. */
    static List<String> write(Path dir, List<Curve> curves) throws IOException {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        List<String> files = new ArrayList<>();
        XYChart auc = chart("Held-out AUC against training time", "AUC");
        XYChart loss = chart("Loss against training time (held-out solid, training dashed)", "log loss");
        XYChart hit = chart("Hit rate (hot ids / all ids) since the previous point", "hit rate");
        XYChart hot = chart("Samples in all-hot batches since the previous point", "hot-sample fraction");
        for (Curve c : curves) {
            line(auc, c, c.mode(), Curve::auc, null);
            line(loss, c, c.mode() + " held-out", Curve::logLoss, null);
            line(loss, c, c.mode() + " training", Curve::trainLoss, DASHED);
            line(hit, c, c.mode(), Curve::hitRate, null);
            line(hot, c, c.mode(), Curve::hotFraction, null);
        }
        for (XYChart chart : new XYChart[] {hit, hot}) {
            chart.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
        }
        save(auc, dir, "auc.png", files);
        save(loss, dir, "loss.png", files);
        save(hit, dir, "hit-rate.png", files);
        save(hot, dir, "hot-samples.png", files);
        return files;
    }

    private static XYChart chart(String title, String yTitle) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                .xAxisTitle("training time (s, evaluations excluded)").yAxisTitle(yTitle).build();
        XYStyler s = chart.getStyler();
        s.setLegendPosition(Styler.LegendPosition.OutsideE);
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setPlotGridLinesColor(new Color(0xDD, 0xDD, 0xDD));
        s.setAntiAlias(true);
        chart.getStyler().setXAxisMin(0.0).setXAxisDecimalPattern("#,##0.#").setYAxisDecimalPattern("0.000");
        return chart;
    }

    /** Adds a mode's column as a line; points whose value is NaN (an empty window) are left out. */
    private static void line(XYChart chart, Curve c, String name, Function<Curve, double[]> column, BasicStroke stroke) {
        double[] t = c.seconds();
        double[] y = column.apply(c);
        int n = 0;
        for (double v : y) {
            n += Double.isFinite(v) ? 1 : 0;
        }
        if (n == 0) {
            return;
        }
        double[] xs = new double[n];
        double[] ys = new double[n];
        for (int i = 0, j = 0; i < y.length; i++) {
            if (Double.isFinite(y[i])) {
                xs[j] = t[i];
                ys[j++] = y[i];
            }
        }
        XYSeries s = chart.addSeries(name, xs, ys);
        Color color = COLORS.getOrDefault(c.mode(), Color.DARK_GRAY);
        s.setLineColor(color);
        s.setMarkerColor(color);
        s.setMarker(SeriesMarkers.CIRCLE);
        s.setLineWidth(1.6f);
        if (stroke != null) {
            s.setLineStyle(stroke);
        }
    }

    private static void save(XYChart chart, Path dir, String name, List<String> files) throws IOException {
        if (chart.getSeriesCollection().isEmpty()) {
            return;
        }
        Files.write(dir.resolve(name), BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG));
        files.add(name);
    }
}

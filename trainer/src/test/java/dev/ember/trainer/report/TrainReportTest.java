package dev.ember.trainer.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ember.trainer.cli.EmberCli;
import dev.ember.trainer.cli.TrainCommand;
import dev.ember.trainer.data.gen.GenSettings;
import dev.ember.trainer.data.gen.Generator;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ember train --report DIR} on a short run of every mode: the table has every column, each
 * JSON line parses with the step times, summary.json holds the settings, the results and one
 * learning curve per mode (a point every --eval-every steps), and the four PNGs decode, at the
 * plot size, with a series in each mode's colour.
 */
class TrainReportTest {
    /** The band at the top of a plot where xchart draws its title. */
    private static final int HEIGHT_OF_TITLE = 30;

    @TempDir
    Path dir;

    /**
     * Why this JVM cannot draw text, or null when it can. PNG plots need the font libraries (a
     * missing one is an UnsatisfiedLinkError) and a font (none: an InternalError from the font
     * manager). The GPU bundle's runtime carries both (etc/bundle-fonts.sh), so there this runs.
     */
    static String cannotDrawText() {
        try {
            BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
            java.awt.Graphics2D g = img.createGraphics();
            g.drawString("x", 1, 7);
            g.dispose();
            return null;
        } catch (LinkageError | InternalError | RuntimeException e) {
            return TrainCommand.withRootCause(e);
        }
    }

    @Test
    void reportHasSummaryCurvesAndPlots() throws Exception {
        String noText = cannotDrawText();
        org.junit.jupiter.api.Assumptions.assumeTrue(noText == null,
                () -> "plots need font libraries and a font, which this JVM lacks (the GPU bundle carries its own): " + noText);
        Path tsv = dir.resolve("g.tsv");
        Generator.run(GenSettings.defaults(tsv, 4000, 2).withScale(0.001).withThreads(2));
        Path report = dir.resolve("report");
        CommandLine cli = EmberCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute("train", "--data", tsv.toString(), "--device", "host", "--batch", "64", "--steps", "12",
                "--eval-every", "4", "--eval-samples", "256", "--threads", "2", "--run-dir", dir.resolve("run").toString(),
                "--report", report.toString(), "--no-progress");
        assertEquals(0, code, err.toString());
        String text = out.toString();
        assertTrue(text.matches("(?s).*mode\\s+device\\s+steps\\s+samples/s\\s+AUC\\s+logloss\\s+accuracy\\s+hot smp\\s+hit rate"
                + "\\s+hot ms\\s+cold ms\\s+host rows\\s+cold s\\s+promoted\\s+demoted\\R.*"), text);

        ObjectMapper json = new ObjectMapper();
        int lines = 0;
        for (String line : text.split("\\R")) {
            if (line.startsWith("{")) {
                JsonNode r = json.readTree(line);
                for (String f : new String[] {"samplesPerSecond", "auc", "logLoss", "accuracy", "hotSampleFraction", "hitRate",
                        "hotStepMillis", "coldStepMillis", "hostGathers", "rowsPromoted", "rowsDemoted", "coldGatherSeconds"}) {
                    assertTrue(r.has(f), f + " missing in " + line);
                }
                assertEquals(12, r.get("hotSteps").asLong() + r.get("coldSteps").asLong(), line);
                double cores = r.get("hostCoresBusy").asDouble();
                assertTrue(cores > 0 && cores <= Runtime.getRuntime().availableProcessors() * 1.1, "host cores busy " + cores);
                lines++;
            }
        }
        assertEquals(4, lines, text);

        JsonNode summary = json.readTree(report.resolve(RunReport.SUMMARY).toFile());
        assertEquals(64, summary.get("settings").get("batch").asInt());
        assertEquals(4, summary.get("settings").get("evalEvery").asInt());
        assertEquals(4, summary.get("modes").size());
        assertEquals(4, summary.get("curves").size());
        for (JsonNode c : summary.get("curves")) {
            String mode = c.get("mode").asText();
            assertEquals("[0,4,8,12]", c.get("step").toString(), mode);
            double previous = -1;
            for (JsonNode t : c.get("seconds")) {
                assertTrue(t.asDouble() >= previous, mode + " time goes back: " + c.get("seconds"));
                previous = t.asDouble();
            }
            for (JsonNode a : c.get("auc")) {
                assertTrue(a.asDouble() > 0 && a.asDouble() < 1, mode + " AUC " + a);
            }
            assertTrue(c.get("hitRate").get(0).isNull(), mode + ": the first point has no window");
            double hit = c.get("hitRate").get(3).asDouble();
            if (mode.equals("baseline")) {
                assertEquals(0.0, hit, mode);
            } else if (mode.equals("device")) {
                assertEquals(1.0, hit, mode);
                assertEquals(1.0, c.get("hotSampleFraction").get(3).asDouble(), mode);
            } else {
                assertTrue(hit > 0 && hit < 1, mode + " hit rate " + hit);
            }
        }
        assertEquals("baseline", summary.get("modes").get(0).get("mode").asText());

        assertEquals("[\"auc.png\",\"loss.png\",\"hit-rate.png\",\"hot-samples.png\"]", summary.get("plots").toString());
        for (String png : new String[] {"auc.png", "loss.png", "hit-rate.png", "hot-samples.png"}) {
            BufferedImage image = ImageIO.read(report.resolve(png).toFile());
            assertEquals(Plots.WIDTH, image.getWidth(), png);
            assertEquals(Plots.HEIGHT, image.getHeight(), png);
            assertTrue(darkPixels(image, HEIGHT_OF_TITLE) > 50, png + " has no title text");
            Set<Integer> colours = colours(image);
            for (Color mode : new Color[] {new Color(0xD6, 0x27, 0x28), new Color(0x1F, 0x77, 0xB4),
                    new Color(0x2C, 0xA0, 0x2C), new Color(0x94, 0x67, 0xBD)}) {
                assertTrue(colours.contains(mode.getRGB() & 0xFFFFFF), png + " has no line in " + mode);
            }
        }
        assertFalse(err.toString().contains("Exception"), err.toString());
    }

    /** Pixels nearly black (text; no mode's colour is) in the top {@code rows} rows. */
    private static int darkPixels(BufferedImage image, int rows) {
        int n = 0;
        for (int y = 0; y < rows; y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                Color c = new Color(image.getRGB(x, y));
                n += c.getRed() < 80 && c.getGreen() < 80 && c.getBlue() < 80 ? 1 : 0;
            }
        }
        return n;
    }

    private static Set<Integer> colours(BufferedImage image) {
        Set<Integer> s = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                s.add(image.getRGB(x, y) & 0xFFFFFF);
            }
        }
        return s;
    }
}

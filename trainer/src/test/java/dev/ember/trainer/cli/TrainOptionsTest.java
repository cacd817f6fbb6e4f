package dev.ember.trainer.cli;

import dev.ember.cache.knob.Budget;
import dev.ember.cache.tiered.BudgetText;
import java.io.PrintWriter;
import java.io.StringWriter;
import dev.ember.trainer.data.gen.GenSettings;
import dev.ember.trainer.data.gen.Generator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ember train}'s tiered options: bad values get one line each and exit code 2, before any work. */
class TrainOptionsTest {
    @TempDir
    Path dir;

    @Test
    void badDeviceBudgetAndModeAreOneLineEachWithExitCode2() {
        CommandLine cli = EmberCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute("train", "--device", "tpu", "--budget", "lots", "--mode", "fae,warp",
                "--run-dir", dir.toString(), "--no-progress");
        assertEquals(2, code, err.toString());
        String[] lines = err.toString().strip().split("\n");
        assertEquals(3, lines.length, err.toString());
        assertTrue(err.toString().contains("--device"), err.toString());
        assertTrue(err.toString().contains("--budget"), err.toString());
        assertTrue(err.toString().contains("--mode: unknown mode 'warp'; known: all, baseline, fae, cache, device"), err.toString());
    }

    @Test
    void everyBadNumberIsOneLineNamingItsOptionWithExitCode2() {
        CommandLine cli = EmberCli.commandLine();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(new StringWriter()));
        cli.setErr(new PrintWriter(err));
        String[] options = {"--batch", "0", "--steps", "-1", "--lr", "-2", "--threads", "0", "--eval-samples", "-1",
            "--checkpoint-every", "-5", "--scale", "3", "--samples", "5", "--arch-mlp-bot", "12-16-16"};
        List<String> args = new ArrayList<>(List.of("train", "--run-dir", dir.toString(), "--no-progress", "--mode", "baseline"));
        args.addAll(List.of(options));
        args.addAll(List.of("--arch-mlp-top", "16-1")); // valid: the bottom's input width is the problem
        int code = cli.execute(args.toArray(String[]::new));
        assertEquals(2, code, err.toString());
        String[] lines = err.toString().strip().split("\n");
        assertEquals(options.length / 2, lines.length, err.toString());
        for (int i = 0; i < options.length; i += 2) {
            String option = options[i];
            assertTrue(Arrays.stream(lines).anyMatch(l -> l.startsWith("ember train: " + option)), option + " named in: " + err);
        }
        assertTrue(Files.notExists(dir.resolve("store-baseline")), "nothing was created");
    }

    @Test
    void badRecipeOptionsAreOneLineEachNamingTheOptionWithExitCode2() {
        CommandLine cli = EmberCli.commandLine();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(new StringWriter()));
        cli.setErr(new PrintWriter(err));
        String[] options = {"--epochs", "0", "--embedding-optimizer", "adam", "--embedding-lr", "-1", "--dense-optimizer",
            "lamb", "--dense-lr", "0", "--warmup-steps", "-3"};
        List<String> args = new ArrayList<>(List.of("train", "--run-dir", dir.toString(), "--no-progress", "--mode", "device"));
        args.addAll(List.of(options));
        int code = cli.execute(args.toArray(String[]::new));
        assertEquals(2, code, err.toString());
        String[] lines = err.toString().strip().split("\n");
        assertEquals(options.length / 2, lines.length, err.toString());
        for (int i = 0; i < options.length; i += 2) {
            String option = options[i];
            assertTrue(Arrays.stream(lines).anyMatch(l -> l.startsWith("ember train: " + option)), option + " named in: " + err);
        }
        assertTrue(err.toString().contains("sgd, rowwise-adagrad or adagrad, got 'adam'"), err.toString());
        assertTrue(Files.notExists(dir.resolve("store-device")), "nothing was created");
    }

    @Test
    void malformedWidthsAndUnknownOptionsAreOneLine() {
        for (String[] args : new String[][] {
            {"train", "--arch-mlp-top", "16-x-1", "--run-dir", dir.toString()},
            {"train", "--arch-mlp-bot", "13-16-8", "--arch-mlp-top", "16-2", "--run-dir", dir.toString()},
            {"train", "--batch", "many"},
            {"train", "--on-device-loss", "retry", "--run-dir", dir.toString()},
            {"train", "--warp-speed"},
        }) {
            CommandLine cli = EmberCli.commandLine();
            StringWriter err = new StringWriter();
            cli.setOut(new PrintWriter(new StringWriter()));
            cli.setErr(new PrintWriter(err));
            assertEquals(2, cli.execute(args), String.join(" ", args) + ": " + err);
            assertEquals(1, err.toString().strip().split("\n").length, String.join(" ", args) + ": " + err);
        }
    }

    @Test
    void aBudgetBeyondTheDeviceIsAUsageErrorNamingTheOption() throws Exception {
        Path tsv = dir.resolve("small.tsv");
        Generator.run(GenSettings.defaults(tsv, 3000, 2).withScale(0.001).withThreads(1));
        CommandLine cli = EmberCli.commandLine();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(new StringWriter()));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute("train", "--data", tsv.toString(), "--mode", "cache", "--device", "host",
                "--budget", Long.toString(Long.MAX_VALUE / 2), "--run-dir", dir.resolve("run").toString(), "--no-progress",
                "--arch-mlp-bot", "13-8-8", "--arch-mlp-top", "8-1");
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains("--budget asks for") && err.toString().contains("lower --budget"), err.toString());
        assertEquals(1, err.toString().strip().split("\n").length, err.toString());
    }

    @Test
    void budgetsParseAsBytesOrFractions() {
        assertEquals(Budget.ofBytes(64L << 20), BudgetText.parse("64MiB", "--budget"));
        assertEquals(Budget.ofBytes(2L << 30), BudgetText.parse("2g", "--budget"));
        assertEquals(Budget.ofBytes(12345), BudgetText.parse("12345", "--budget"));
        assertEquals(Budget.ofFraction(0.1), BudgetText.parse("0.1", "--budget"));
        assertEquals(Budget.ofFraction(0.25), BudgetText.parse("25%", "--budget"));
        for (String bad : new String[] {"", "1.5", "-3", "0", "ten", "200%"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BudgetText.parse(bad, "--budget"));
            assertTrue(e.getMessage().startsWith("--budget"), e.getMessage());
        }
    }
}

package dev.ember.trainer.cli;

import dev.ember.cache.knob.Budget;
import dev.ember.cache.tiered.BudgetText;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
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

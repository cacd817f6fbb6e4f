package dev.ember.trainer.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DataCommandsTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        CommandLine cl = EmberCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void genDataThenConvertThenConvertAgain() {
        Path tsv = dir.resolve("g.tsv");
        Run g = run("gen-data", "--out", tsv.toString(), "--samples", "5000", "--seed", "3", "--scale", "0.001",
                "--no-progress");
        assertEquals(0, g.code(), g.err());
        assertTrue(g.out().contains("planted AUC"), g.out());
        assertTrue(Files.exists(dir.resolve("g.tsv.json")));
        Run c = run("convert", tsv.toString(), "--min-count", "2", "--no-progress");
        assertEquals(0, c.code(), c.err());
        assertTrue(c.out().contains("samples: 5,000"), c.out());
        Run again = run("convert", tsv.toString(), "--min-count", "2", "--no-progress");
        assertEquals(0, again.code());
        assertTrue(again.out().contains("up to date"), again.out());
    }

    @Test
    void referenceRefusesTheCeilingsOfAnOlderGenDataSayingWhy() throws java.io.IOException {
        Path tsv = dir.resolve("old.tsv");
        assertEquals(0, run("gen-data", "--out", tsv.toString(), "--samples", "3000", "--scale", "0.001",
                "--no-progress").code());
        Files.writeString(dir.resolve("old.tsv.json"), "{\"samples\": 3000, \"ceilingMinCount\": 5, \"learnableAuc\": 0.7}");
        Run r = run("reference", "--data", tsv.toString(), "--epochs", "1", "--threads", "1");
        assertEquals(1, r.code(), r.err());
        assertEquals(1, r.err().strip().split("\n").length, r.err());
        assertTrue(r.err().contains("generate the data again"), r.err());
    }

    @Test
    void badValuesGiveOneLineEachAndExitCode2() {
        Run g = run("gen-data", "--out", dir.resolve("x.tsv").toString(), "--samples", "0", "--drift", "2",
                "--alpha", "-1");
        assertEquals(2, g.code());
        String[] lines = g.err().strip().split("\n");
        assertEquals(3, lines.length, g.err());
        assertTrue(lines[0].contains("--samples") && lines[1].contains("--drift") && lines[2].contains("--alpha"),
                g.err());

        Run typo = run("gen-data", "--out", "x.tsv", "--samples", "many");
        assertEquals(2, typo.code());
        assertEquals(1, typo.err().strip().split("\n").length, typo.err());
        assertTrue(typo.err().contains("many"), typo.err());

        Run c = run("convert", dir.resolve("missing.tsv").toString(), "--order", "random", "--cap", "1",
                "--cap-table", "30=5");
        assertEquals(2, c.code());
        String[] cl = c.err().strip().split("\n");
        assertEquals(4, cl.length, c.err());
        assertTrue(c.err().contains("missing.tsv") && c.err().contains("--order") && c.err().contains("--cap ")
                && c.err().contains("--cap-table"), c.err());
    }
}

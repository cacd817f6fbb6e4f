package dev.ember.trainer.cli;

import dev.ember.trainer.data.gen.GenSettings;
import dev.ember.trainer.data.gen.Generator;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A real {@code ember train} child JVM (the launcher's flags, the test class path) trains the
 * cache mode while {@code ember inspect <pid>} attaches to it through the attach API and reads its
 * Store, Table, Knob and Trainer MXBeans; the Trainer bean's step advances between two looks.
 */
class InspectChildTest {
    private static final Pattern STEP = Pattern.compile("dev\\.ember:type=Trainer\\R(?:  .*\\R)*?  Step\\s+(\\d+)");

    @TempDir
    Path dir;

    @Test
    void inspectReadsTheBeansOfARunningTrainer() throws Exception {
        Path tsv = dir.resolve("g.tsv");
        Generator.run(GenSettings.defaults(tsv, 4000, 3).withScale(0.001).withThreads(1));
        String root = System.getProperty("ember.root");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + Path.of(root, "etc", "jvm.options"), "-Xmx1g", "-Dorg.lwjgl.opencl.libname=libOpenCL.so.1",
                "-cp", System.getProperty("java.class.path"), EmberCli.class.getName(),
                "train", "--data", tsv.toString(), "--mode", "cache", "--device", "host", "--batch", "64",
                "--steps", "1000000", "--eval-every", "40", "--eval-samples", "256", "--threads", "1",
                "--run-dir", dir.resolve("run").toString(), "--no-progress"));
        Path log = dir.resolve("child.log");
        Process child = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        try {
            String first = inspectUntilTraining(child, log);
            for (String bean : new String[] {"dev.ember:type=Store", "dev.ember:type=Knob", "dev.ember:type=Table,name=t00",
                    "dev.ember:type=Table,name=t25", "dev.ember:type=Trainer"}) {
                assertTrue(first.contains(bean + "\n"), bean + " missing from:\n" + first);
            }
            assertTrue(first.matches("(?s).*\\R  Mode\\s+cache\\R.*"), first);
            assertTrue(first.matches("(?s).*\\R  SamplesPerSecond\\s+[0-9.E]+\\R.*"), first);
            assertTrue(first.matches("(?s).*\\R  PlannedSteps\\s+1000000\\R.*"), first);
            long step1 = step(first);
            long step2 = step1;
            for (int i = 0; i < 100 && step2 <= step1; i++) {
                Thread.sleep(200);
                step2 = step(inspect(child.pid())[1]);
            }
            assertTrue(step2 > step1, "the Trainer bean's step did not advance past " + step1);
        } finally {
            child.destroyForcibly();
            child.waitFor();
        }
    }

    /** Inspects until the Trainer bean shows a trained step; fails with the child's log if it never does. */
    private static String inspectUntilTraining(Process child, Path log) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        String last = "";
        while (System.nanoTime() < deadline) {
            if (!child.isAlive()) {
                fail("the child exited with " + child.exitValue() + ":\n" + read(log));
            }
            String[] r = inspect(child.pid());
            last = r[1] + r[2];
            if (r[0].equals("0") && STEP.matcher(r[1]).find() && step(r[1]) > 0) {
                return r[1];
            }
            Thread.sleep(300);
        }
        return fail("no training Trainer bean within 120 s; last inspect:\n" + last + "\nchild log:\n" + read(log));
    }

    private static long step(String text) {
        Matcher m = STEP.matcher(text);
        assertTrue(m.find(), text);
        return Long.parseLong(m.group(1));
    }

    private static String[] inspect(long pid) {
        CommandLine cli = EmberCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute("inspect", Long.toString(pid));
        return new String[] {Integer.toString(code), out.toString().replace("\r\n", "\n"), err.toString()};
    }

    private static String read(Path log) throws IOException {
        return Files.exists(log) ? Files.readString(log) : "(no log)";
    }

    @Test
    void aPidThatIsNoJvmIsOneLineAndExitCode2() {
        String[] r = inspect(Long.MAX_VALUE / 2);
        assertEquals("2", r[0], r[1] + r[2]);
        assertTrue(r[2].startsWith("ember inspect: cannot attach to pid"), r[2]);
    }
}

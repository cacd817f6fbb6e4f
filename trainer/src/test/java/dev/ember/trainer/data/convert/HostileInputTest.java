package dev.ember.trainer.data.convert;

import dev.ember.trainer.data.PlainReference;
import dev.ember.trainer.data.text.CriteoLineParser;
import dev.ember.trainer.data.text.Problem;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The TSV parser and converter under a seeded fuzzer with a fixed time budget: lines that are
 * valid Criteo lines mutated with random bytes, NUL bytes, invalid UTF-8, long fields, huge and
 * negative numbers, non-hex ids and wrong column counts, plus whole lines of random bytes and
 * one line longer than the converter's read block. The only outcomes allowed are a sample or a
 * malformed line with a named problem; the converter's counts equal the plain reference's (a
 * {@code String.split} parser); nothing hangs (each file has a deadline) or runs out of memory
 * (the surefire heap is 2 GB; the hostile files are a few MB).
 */
class HostileInputTest {
    private static final long BUDGET_NANOS = 12_000_000_000L;
    private static final String[] NASTY = {
        "\u0000", "\u00ff\u00fe", "-", "--5", "99999999999999999999999999", "-9223372036854775809",
        "1e10", "0x1f", "ffffffffffffffff", "fffffffffffffff", "zz", "\t", "\t\t", "", " ", ",", "+7", "00000000000000000001"};

    @TempDir
    Path dir;

    @Test
    void theParserNamesAProblemForEveryBadLineAndNeverThrows() {
        SplittableRandom rnd = new SplittableRandom(42);
        CriteoLineParser one = new CriteoLineParser();
        CriteoLineParser multi = new CriteoLineParser(true, 8);
        long deadline = System.nanoTime() + BUDGET_NANOS / 2;
        long lines = 0;
        long bad = 0;
        while (System.nanoTime() < deadline) {
            byte[] line = hostileLine(rnd);
            for (CriteoLineParser p : new CriteoLineParser[] {one, multi}) {
                boolean ok = p.parse(line, 0, line.length);
                if (!ok) {
                    bad++;
                    assertNotEquals(Problem.NONE, p.problem(), "a rejected line names its problem");
                }
                // the verdict matches the plain reference's (one-hot only: the reference has no bag limit)
                if (p == one && line.length > 0 && line[line.length - 1] != '\r') {
                    String text = new String(line, StandardCharsets.US_ASCII);
                    if (text.indexOf('\r') < 0 && text.indexOf('\n') < 0) {
                        assertEquals(PlainReference.wellFormed(text), ok, () -> "verdict on: " + printable(text));
                    }
                }
            }
            lines++;
        }
        assertTrue(lines > 1000, "the fuzzer ran: " + lines + " lines");
        System.out.printf("parser fuzz: %,d lines, %,d rejections%n", lines, bad);
    }

    @Test
    void theConverterCountsHostileFilesLikeThePlainReferenceWithinADeadline() throws Exception {
        SplittableRandom rnd = new SplittableRandom(7);
        long deadline = System.nanoTime() + BUDGET_NANOS / 2;
        int files = 0;
        while (files < 2 || System.nanoTime() < deadline) {
            Path in = dir.resolve("hostile" + files + ".tsv");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            int n = 200 + rnd.nextInt(800);
            for (int i = 0; i < n; i++) {
                out.write(rnd.nextInt(3) == 0 ? validLine(rnd) : hostileLine(rnd));
                out.write('\n');
            }
            if (files % 3 == 0) {
                byte[] huge = new byte[(3 << 20) + rnd.nextInt(1 << 20)]; // longer than a 1 MiB read block
                for (int i = 0; i < huge.length; i++) {
                    huge[i] = (byte) ('a' + rnd.nextInt(6));
                }
                out.write(huge);
                out.write('\n');
                out.write(validLine(rnd));
                out.write('\n');
            }
            Files.write(in, out.toByteArray());
            PlainReference ref = PlainReference.read(in, false);
            int k = files;
            ConvertResult r = assertTimeoutPreemptively(Duration.ofSeconds(30),
                    () -> new Converter(ConvertSettings.defaults(in).withOutDir(dir.resolve("out" + k)).withThreads(2)).run(),
                    "converting " + in);
            assertEquals(ref.malformedLines.size(), r.malformed(), in + ": malformed lines");
            assertEquals(ref.samples.size(), r.samples(), in + ": samples");
            files++;
        }
        System.out.printf("converter fuzz: %d hostile files%n", files);
    }

    /** A well-formed Criteo line with random values. */
    static byte[] validLine(SplittableRandom rnd) {
        StringBuilder b = new StringBuilder();
        b.append(rnd.nextInt(2));
        for (int i = 0; i < 13; i++) {
            b.append('\t');
            if (rnd.nextInt(5) > 0) {
                b.append(rnd.nextInt(2000) - 3);
            }
        }
        for (int i = 0; i < 26; i++) {
            b.append('\t');
            if (rnd.nextInt(8) > 0) {
                b.append(Long.toHexString(rnd.nextLong(1L << 32)));
            }
        }
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** A valid line damaged in one to four ways, or (one in ten) random bytes. */
    static byte[] hostileLine(SplittableRandom rnd) {
        if (rnd.nextInt(10) == 0) {
            byte[] b = new byte[rnd.nextInt(2000)];
            rnd.nextBytes(b);
            return noNewlines(b);
        }
        String[] f = new String(validLine(rnd), StandardCharsets.US_ASCII).split("\t", -1);
        StringBuilder extra = new StringBuilder();
        int damage = 1 + rnd.nextInt(4);
        for (int d = 0; d < damage; d++) {
            int i = rnd.nextInt(f.length);
            switch (rnd.nextInt(6)) {
                case 0 -> f[i] = NASTY[rnd.nextInt(NASTY.length)];
                case 1 -> f[i] = f[i] + NASTY[rnd.nextInt(NASTY.length)];
                case 2 -> f[i] = "f".repeat(1 + rnd.nextInt(100_000)); // a long field
                case 3 -> extra.append('\t').append(rnd.nextInt(100)); // too many columns
                case 4 -> f[i] = Long.toString(rnd.nextLong()); // huge or negative
                default -> f[i] = "\u00c3\u0028"; // an invalid UTF-8 sequence, as ISO-8859-1 bytes
            }
        }
        String joined = String.join("\t", f) + extra;
        if (rnd.nextInt(8) == 0) {
            joined = joined.substring(0, rnd.nextInt(joined.length() + 1)); // too few columns
        }
        return noNewlines(joined.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Line breaks would split the line; {@code '\r'} alone ends a line for the reference's reader only. */
    private static byte[] noNewlines(byte[] b) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == '\n' || b[i] == '\r') {
                b[i] = 0;
            }
        }
        return b;
    }

    private static String printable(String s) {
        return s.length() > 200 ? s.substring(0, 200).replace('\t', '|') + "..." : s.replace('\t', '|');
    }
}

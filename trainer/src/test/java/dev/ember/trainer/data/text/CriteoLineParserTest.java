package dev.ember.trainer.data.text;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CriteoLineParserTest {
    private static boolean parse(CriteoLineParser p, String line) {
        byte[] b = ("xx" + line + "yy").getBytes(StandardCharsets.US_ASCII);
        return p.parse(b, 2, b.length - 2);
    }

    @Test
    void randomLinesReadBackAsWritten() {
        Random r = new Random(5);
        CriteoLineParser p = new CriteoLineParser();
        for (int n = 0; n < 5000; n++) {
            int label = r.nextInt(2);
            long[] ints = new long[13];
            boolean[] emptyInt = new boolean[13];
            long[] keys = new long[26];
            StringBuilder sb = new StringBuilder().append(label);
            for (int i = 0; i < 13; i++) {
                emptyInt[i] = r.nextInt(4) == 0;
                ints[i] = r.nextInt(3) == 0 ? r.nextLong() % 1_000_000_000_000L : r.nextInt(70_000) - 3;
                sb.append('\t').append(emptyInt[i] ? "" : Long.toString(ints[i]));
            }
            for (int t = 0; t < 26; t++) {
                keys[t] = r.nextInt(5) == 0 ? CriteoLineParser.MISSING : r.nextLong() >>> (4 + r.nextInt(60));
                String hex = Long.toHexString(keys[t]);
                sb.append('\t').append(keys[t] == CriteoLineParser.MISSING ? ""
                        : r.nextBoolean() ? hex.toUpperCase() : hex);
            }
            if (r.nextInt(10) == 0) {
                sb.append('\r');
            }
            assertTrue(parse(p, sb.toString()), sb.toString());
            assertEquals(label, p.label());
            for (int i = 0; i < 13; i++) {
                long v = emptyInt[i] ? 0 : ints[i];
                assertEquals(v, p.rawDense(i));
                assertEquals((float) StrictMath.log1p(Math.max(v, 0)), p.dense(i), "log(1 + max(x, 0)) of " + v);
            }
            for (int t = 0; t < 26; t++) {
                assertEquals(1, p.bagSize(t));
                assertEquals(keys[t], p.key(t, 0));
            }
        }
    }

    @Test
    void malformedLinesSayWhatAndWhere() {
        CriteoLineParser p = new CriteoLineParser();
        String good = "1" + "\t12".repeat(13) + "\t0a".repeat(26);
        assertTrue(parse(p, good));
        String[][] cases = {
                {"", "EMPTY_LINE", "0"},
                {"\r", "EMPTY_LINE", "0"},
                {"x" + good.substring(1), "BAD_LABEL", "1"},
                {"10" + good.substring(1), "BAD_LABEL", "1"},
                {good.substring(0, good.length() - 3), "TOO_FEW_FIELDS", "0"},
                {good + "\t0a", "TOO_MANY_FIELDS", "0"},
                {good.replaceFirst("\t12", "\t1.5"), "BAD_INTEGER", "2"},
                {good.replaceFirst("\t12", "\t-"), "BAD_INTEGER", "2"},
                {good.replaceFirst("\t12", "\t+12"), "BAD_INTEGER", "2"},
                {good.replace("\t0a", "\t0x"), "BAD_HEX", "15"},
                {good.substring(0, good.length() - 2) + "1234567890abcdef", "BAD_HEX", "40"},
        };
        for (String[] c : cases) {
            assertFalse(parse(p, c[0]), c[0]);
            assertEquals(Problem.valueOf(c[1]), p.problem(), c[0]);
            assertEquals(Integer.parseInt(c[2]), p.problemField(), c[0]);
        }
        assertTrue(Problem.BAD_HEX.describe(15).startsWith("field 15: "));
    }

    @Test
    void multiHotFieldsAreBags() {
        CriteoLineParser p = new CriteoLineParser(true, 3);
        String line = "0" + "\t".repeat(13) + "\ta,b,c" + "\t" + "\tff" + "\t1".repeat(23);
        assertTrue(parse(p, line));
        assertEquals(3, p.bagSize(0));
        assertEquals(0xb, p.key(0, 1));
        assertEquals(0, p.bagSize(1)); // empty field: empty bag
        assertEquals(1, p.bagSize(2));
        assertFalse(parse(p, line.replace("a,b,c", "a,b,c,d")));
        assertEquals(Problem.BAG_TOO_LARGE, p.problem());
        assertFalse(parse(p, line.replace("a,b,c", "a,,c")));
        assertEquals(Problem.BAD_HEX, p.problem());
        assertFalse(parse(p, line.replace("a,b,c", "a,b,")));
        assertEquals(Problem.BAD_HEX, p.problem());
    }
}

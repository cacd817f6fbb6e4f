package dev.ember.trainer.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * The plain reference for the data path: String.split parsing, HashMap vocabularies. Slow and
 * obviously right.
 */
public final class PlainReference {
    public record Sample(long line, int label, float[] dense, long[][] keys) {
    }

    public final List<Sample> samples = new ArrayList<>();
    public final List<Long> malformedLines = new ArrayList<>();

    public static PlainReference read(Path file, boolean multiHot) throws IOException {
        PlainReference r = new PlainReference();
        var in = Files.newInputStream(file);
        byte[] head = Files.readAllBytes(file);
        java.io.InputStream s = head.length > 1 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b
                ? new GZIPInputStream(in) : in;
        try (BufferedReader br = new BufferedReader(new InputStreamReader(s, StandardCharsets.US_ASCII))) {
            String line;
            long no = 0;
            while ((line = br.readLine()) != null) {
                no++;
                Sample x = parse(no, line, multiHot);
                if (x == null) {
                    r.malformedLines.add(no);
                } else {
                    r.samples.add(x);
                }
            }
        }
        return r;
    }

    /** Whether {@code line} (one-hot format, no terminator) is a well-formed Criteo line. */
    public static boolean wellFormed(String line) {
        return parse(0, line, false) != null;
    }

    static Sample parse(long no, String line, boolean multiHot) {
        String[] f = line.split("\t", -1);
        if (f.length != 40) {
            return null;
        }
        if (!f[0].equals("0") && !f[0].equals("1")) {
            return null;
        }
        float[] dense = new float[13];
        for (int i = 0; i < 13; i++) {
            long v;
            try {
                v = f[1 + i].isEmpty() ? 0 : Long.parseLong(f[1 + i]);
            } catch (NumberFormatException e) {
                return null;
            }
            if (f[1 + i].startsWith("+")) {
                return null;
            }
            dense[i] = (float) StrictMath.log1p(Math.max(v, 0));
        }
        long[][] keys = new long[26][];
        for (int t = 0; t < 26; t++) {
            String v = f[14 + t];
            String[] parts = multiHot ? (v.isEmpty() ? new String[0] : v.split(",", -1)) : new String[] {v};
            keys[t] = new long[parts.length];
            for (int j = 0; j < parts.length; j++) {
                String p = parts[j];
                if (!multiHot && p.isEmpty()) {
                    keys[t][j] = Long.MAX_VALUE;
                    continue;
                }
                if (p.isEmpty() || p.length() > 15 || !p.matches("[0-9a-fA-F]+")) {
                    return null;
                }
                keys[t][j] = Long.parseLong(p, 16);
            }
        }
        return new Sample(no, Integer.parseInt(f[0]), dense, keys);
    }

    /** Per table: key -> [count, first appearance ordinal], in order of first appearance. */
    public List<LinkedHashMap<Long, long[]>> counts() {
        List<LinkedHashMap<Long, long[]>> c = new ArrayList<>();
        for (int t = 0; t < 26; t++) {
            c.add(new LinkedHashMap<>());
        }
        long pos = 0;
        for (Sample s : samples) {
            for (int t = 0; t < 26; t++) {
                for (long k : s.keys[t]) {
                    long at = pos++;
                    c.get(t).computeIfAbsent(k, x -> new long[] {0, at})[0]++;
                }
            }
        }
        return c;
    }

    /** DLRM-style ids without a cap: kept values (count >= minCount) numbered from 1 by first appearance. */
    public List<Map<Long, Integer>> firstAppearanceIds(int minCount) {
        List<Map<Long, Integer>> ids = new ArrayList<>();
        for (LinkedHashMap<Long, long[]> table : counts()) {
            Map<Long, Integer> m = new HashMap<>();
            int next = 1;
            for (Map.Entry<Long, long[]> e : table.entrySet()) {
                m.put(e.getKey(), e.getValue()[0] >= minCount ? next++ : 0);
            }
            ids.add(m);
        }
        return ids;
    }
}

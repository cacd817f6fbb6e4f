package dev.ember.trainer.data.gen;

import dev.ember.trainer.data.CriteoSchema;
import dev.ember.trainer.data.text.CriteoLineParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GeneratorTest {
    @TempDir
    Path dir;

    @Test
    void sameSeedSameBytesWhateverTheThreads() throws IOException {
        Path a = dir.resolve("a.tsv");
        Path b = dir.resolve("b.tsv.gz");
        Path c = dir.resolve("c.tsv");
        Ceilings ca = Generator.run(GenSettings.defaults(a, 40_000, 5).withScale(0.01).withDrift(0.2).withThreads(1));
        Ceilings cb = Generator.run(GenSettings.defaults(b, 40_000, 5).withScale(0.01).withDrift(0.2).withThreads(3));
        Generator.run(GenSettings.defaults(c, 40_000, 6).withScale(0.01).withDrift(0.2).withThreads(2));
        byte[] unzipped;
        try (var in = new java.util.zip.GZIPInputStream(Files.newInputStream(b))) {
            unzipped = in.readAllBytes();
        }
        assertArrayEquals(Files.readAllBytes(a), unzipped);
        assertEquals(ca.plantedAuc(), cb.plantedAuc());
        assertEquals(ca.learnableAuc(), cb.learnableAuc());
        assertEquals(ca.trueWeightsOfSeenRowsAuc(), cb.trueWeightsOfSeenRowsAuc());
        assertFalse(Arrays.equals(Files.readAllBytes(a), Files.readAllBytes(c)));
        assertEquals(40_000, Files.readAllLines(a).size());
    }

    @Test
    void valuesAreABijectionOfRows() {
        PlantedModel m = new PlantedModel(9, CriteoSchema.kaggleRows(), PlantedModel.defaultAlpha(9), 0.5);
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < 100_000; i++) {
            int t = r.nextInt(26);
            int row = r.nextInt(2 * m.rows(t));
            long v = m.value(t, row);
            assertTrue(v >= 0 && v < (1L << 32));
            assertEquals(row, m.rowOfValue(t, v));
        }
    }

    @Test
    void driftMovesThePopularRowsHalfWay() throws IOException {
        for (double drift : new double[] {0, 1}) {
            Path f = dir.resolve("drift" + drift + ".tsv");
            Generator.run(GenSettings.defaults(f, 20_000, 2).withScale(0.01).withDrift(drift).withThreads(2));
            List<String> lines = Files.readAllLines(f);
            CriteoLineParser p = new CriteoLineParser();
            java.util.Set<Long> firstHalf = new java.util.HashSet<>();
            int seenBefore = 0;
            for (int i = 0; i < lines.size(); i++) {
                byte[] b = lines.get(i).getBytes(StandardCharsets.US_ASCII);
                assertTrue(p.parse(b, 0, b.length));
                long k = p.key(2, 0);
                if (i < 10_000) {
                    firstHalf.add(k);
                } else if (firstHalf.contains(k)) {
                    seenBefore++;
                }
            }
            // without drift most of the second half's values were seen before; with full drift none
            if (drift == 0) {
                assertTrue(seenBefore > 5_000, "seen before: " + seenBefore);
            } else {
                assertEquals(0, seenBefore);
            }
        }
    }

    /** Least-squares slope of log(count) on log(rank) over the top ranks. */
    static double fitExponent(int[] counts, int ranks) {
        int[] sorted = counts.clone();
        Arrays.sort(sorted);
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (int r = 1; r <= ranks; r++) {
            double x = Math.log(r);
            double y = Math.log(sorted[sorted.length - r]);
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
        }
        return -(ranks * sxy - sx * sy) / (ranks * sxx - sx * sx);
    }

    @Test
    void skewMatchesTheRequestedExponent() throws IOException {
        for (double alpha : new double[] {1.05, 1.2}) {
            Path f = dir.resolve("zipf" + alpha + ".tsv");
            Ceilings c = Generator.run(GenSettings.defaults(f, 120_000, 3).withScale(0.01).withAlpha(alpha).withThreads(2));
            assertEquals(alpha, c.alpha()[2]);
            CriteoLineParser p = new CriteoLineParser();
            int[] tables = {2, 11, 9};
            List<Map<Long, Integer>> counts = List.of(new HashMap<>(), new HashMap<>(), new HashMap<>());
            byte[] all = Files.readAllBytes(f);
            int s = 0;
            for (int i = 0; i < all.length; i++) {
                if (all[i] == '\n') {
                    assertTrue(p.parse(all, s, i));
                    for (int j = 0; j < tables.length; j++) {
                        counts.get(j).merge(p.key(tables[j], 0), 1, Integer::sum);
                    }
                    s = i + 1;
                }
            }
            for (int j = 0; j < tables.length; j++) {
                int[] cs = counts.get(j).values().stream().mapToInt(Integer::intValue).toArray();
                double fit = fitExponent(cs, 100);
                assertEquals(alpha, fit, 0.08, "table " + tables[j] + " alpha " + alpha);
            }
        }
    }

    @Test
    void defaultsArePlantedCriteoLike() throws IOException {
        Ceilings c = Generator.run(GenSettings.defaults(dir.resolve("d.tsv"), 140_000, 1).withThreads(2));
        assertTrue(c.plantedAuc() >= 0.75 && c.plantedAuc() <= 0.80, "planted AUC " + c.plantedAuc());
        assertTrue(c.learnableAuc() < c.plantedAuc() && c.learnableAuc() > 0.6, "learnable AUC " + c.learnableAuc());
        assertTrue(c.trueWeightsOfSeenRowsAuc() < c.plantedAuc() && c.trueWeightsOfSeenRowsAuc() > 0.6,
                "true weights of seen rows " + c.trueWeightsOfSeenRowsAuc());
        assertTrue(c.clickRate() > 0.2 && c.clickRate() < 0.3, "click rate " + c.clickRate());
        for (double a : c.alpha()) {
            assertTrue(a >= 1.05 && a <= 1.2);
        }
        assertArrayEquals(CriteoSchema.kaggleRows(), c.rows());
        int[] signal = c.signalTables();
        assertTrue(signal.length >= 8);
        for (int big : new int[] {2, 11, 20, 15}) {
            assertTrue(Arrays.stream(signal).anyMatch(t -> t == big), "signal in table " + big);
        }
        Ceilings stored = Ceilings.read(dir.resolve("d.tsv.json"));
        assertEquals(c.plantedAuc(), stored.plantedAuc());
        assertEquals(c.learnableAuc(), stored.learnableAuc());
        assertEquals(c.trueWeightsOfSeenRowsAuc(), stored.trueWeightsOfSeenRowsAuc());
        assertEquals(GenSettings.DEFAULT_TRUE_WEIGHTS_MIN_COUNT, stored.trueWeightsMinCount());
        assertArrayEquals(c.alpha(), stored.alpha());
    }

    @Test
    void anOlderCeilingsFileIsRefusedSayingWhy() throws IOException {
        Path old = dir.resolve("old.tsv.json");
        Files.writeString(old, "{\"samples\": 10, \"ceilingMinCount\": 5, \"learnableAuc\": 0.75}");
        IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> Ceilings.read(old));
        assertTrue(e.getMessage().contains("generate the data again"), e.getMessage());
    }

    /**
     * The learnable ceiling is the oracle bound of the converted data (same posterior means from
     * converted ids as from the generator's rows), between chance and the planted AUC.
     */
    @Test
    void theLearnableCeilingIsTheOracleBoundOfTheConvertedData() throws IOException {
        Path f = dir.resolve("oracle.tsv");
        Ceilings c = Generator.run(GenSettings.defaults(f, 40_000, 8).withScale(0.002).withThreads(2));
        var conv = new dev.ember.trainer.data.convert.Converter(
                dev.ember.trainer.data.convert.ConvertSettings.defaults(f).withThreads(2)).run();
        var data = dev.ember.trainer.data.BinaryDataset.open(conv.outDir().resolve(dev.ember.trainer.data.BinaryDataset.DATA_FILE));
        var bound = new dev.ember.trainer.reference.OracleBound(data, conv.outDir().resolve("vocab"), c).run();
        assertEquals(c.plantedAuc(), bound.plantedAuc(), 1e-6, "the converted ids are the generator's rows");
        assertEquals(c.learnableAuc(), bound.oracleAuc(), 1e-12, "learnable ceiling and oracle bound");
        assertTrue(c.learnableAuc() > 0.55 && c.learnableAuc() < c.plantedAuc(),
                "learnable " + c.learnableAuc() + " between chance and planted " + c.plantedAuc());
    }

    /**
     * Recomputes the ceilings from the text alone, as documented: rows from hex values, planted
     * weights (a bag's mean), training counts and table means, each held-out row's posterior mean
     * in plain doubles from its training samples, and a brute-force AUC. One-hot and multi-hot.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 3})
    void ceilingsAreComputedAsDocumented(int bag) throws IOException {
        Path f = dir.resolve("ceil" + bag + ".tsv");
        GenSettings s = GenSettings.defaults(f, 21_000, 4).withScale(0.001).withDrift(0.3).withTrueWeightsMinCount(3)
                .withThreads(2).withMaxBag(bag);
        Ceilings c = Generator.run(s);
        Ceilings stored = Ceilings.read(s.ceilingsFile());
        assertEquals(c.plantedAuc(), stored.plantedAuc());
        assertEquals(bag, stored.maxBag());
        PlantedModel m = new PlantedModel(4, CriteoSchema.kaggleRows(0.001), c.alpha(), 0.3);
        int[] signal = m.signalTables();
        List<String> lines = Files.readAllLines(f, StandardCharsets.US_ASCII);
        long train = s.trainSamples();
        assertEquals(train, c.trainSamples());
        CriteoLineParser p = new CriteoLineParser(bag > 1, Math.max(bag, 1));
        Map<Long, Integer>[] counts = new Map[26];
        Map<Long, List<double[]>>[] likelihood = new Map[26];
        double[] sum = new double[26];
        long[] occ = new long[26];
        int held = (int) (lines.size() - train);
        float[] planted = new float[held];
        byte[] label = new byte[held];
        int[][][] rows = new int[held][][];
        double[] base = new double[held];
        for (int t : signal) {
            counts[t] = new HashMap<>();
            likelihood[t] = new HashMap<>();
        }
        int biggestBag = 0;
        for (int i = 0; i < lines.size(); i++) {
            byte[] b = lines.get(i).getBytes(StandardCharsets.US_ASCII);
            assertTrue(p.parse(b, 0, b.length), lines.get(i));
            double logit = m.bias() + PlantedModel.denseTerm(p.dense(0));
            double bs = logit;
            int[][] r = new int[26][];
            for (int t = 0; t < 26; t++) {
                int n = p.bagSize(t);
                biggestBag = Math.max(biggestBag, n);
                r[t] = new int[n];
                double w = 0;
                for (int q = 0; q < n; q++) {
                    long k = p.key(t, q);
                    r[t][q] = k == CriteoLineParser.MISSING ? -1 : m.rowOfValue(t, k);
                    if (m.signal(t) && r[t][q] >= 0) {
                        w += m.weight(t, r[t][q]);
                    }
                }
                if (m.signal(t) && n > 0 && r[t][0] >= 0) {
                    logit += n == 1 ? w : w / n;
                }
            }
            if (i < train) {
                for (int t : signal) {
                    for (int row : r[t]) {
                        if (row >= 0) {
                            counts[t].merge((long) row, 1, Integer::sum);
                            sum[t] += m.weight(t, row);
                            occ[t]++;
                        }
                    }
                    for (int row : Arrays.stream(r[t]).filter(x -> x >= 0).distinct().toArray()) {
                        double coef = (double) Arrays.stream(r[t]).filter(x -> x == row).count() / r[t].length;
                        likelihood[t].computeIfAbsent((long) row, x -> new ArrayList<>())
                                .add(new double[] {logit - coef * m.weight(t, row), coef, p.label()});
                    }
                }
            } else {
                int h = (int) (i - train);
                planted[h] = (float) logit;
                label[h] = (byte) p.label();
                rows[h] = r;
                base[h] = bs;
            }
        }
        assertEquals(bag, biggestBag);
        float[] seen = new float[held];
        float[] learnable = new float[held];
        Map<Long, Double>[] posterior = new Map[26];
        for (int t : signal) {
            posterior[t] = new HashMap<>();
            for (Map.Entry<Long, List<double[]>> e : likelihood[t].entrySet()) {
                posterior[t].put(e.getKey(), RowPosteriorsTest.plainMean(m, t, e.getValue()));
            }
        }
        double[] prior = new double[26];
        for (int t : signal) {
            prior[t] = RowPosteriorsTest.plainMean(m, t, List.of());
        }
        for (int h = 0; h < held; h++) {
            double known = base[h];
            double learned = base[h];
            for (int t : signal) {
                double wk = 0;
                double wl = 0;
                int n = 0;
                for (int row : rows[h][t]) {
                    if (row >= 0) {
                        wk += counts[t].getOrDefault((long) row, 0) >= 3 ? m.weight(t, row) : sum[t] / occ[t];
                        wl += posterior[t].getOrDefault((long) row, prior[t]);
                        n++;
                    }
                }
                if (n > 0) {
                    known += n == 1 ? wk : wk / n;
                    learned += n == 1 ? wl : wl / n;
                }
            }
            seen[h] = (float) known;
            learnable[h] = (float) learned;
        }
        assertEquals(AucTest.bruteForce(planted, label, held), c.plantedAuc(), 1e-9);
        assertEquals(AucTest.bruteForce(seen, label, held), c.trueWeightsOfSeenRowsAuc(), 1e-4);
        assertEquals(AucTest.bruteForce(learnable, label, held), c.learnableAuc(), 1e-4);
        assertTrue(c.trueWeightsOfSeenRowsAuc() < c.plantedAuc());
        assertTrue(c.learnableAuc() > 0.5 && c.learnableAuc() < c.plantedAuc(), "learnable " + c.learnableAuc());
        assertEquals(21_000 / 2, c.driftAt());
        if (bag > 1) { // the multi-hot variant converts into bags
            var conv = new dev.ember.trainer.data.convert.Converter(
                    dev.ember.trainer.data.convert.ConvertSettings.defaults(f).withMultiHot(true, bag).withThreads(2))
                    .run();
            assertEquals(0, conv.malformed());
            var data = dev.ember.trainer.data.BinaryDataset.open(conv.outDir());
            assertEquals(-1, data.layout().fixedBag(2));
            var batch = new dev.ember.trainer.data.Batch(1000);
            data.all().read(0, batch);
            for (int i = 0; i < batch.size(); i++) {
                int n = batch.offsets(2)[i + 1] - batch.offsets(2)[i];
                assertTrue(n >= 1 && n <= bag);
            }
        }
    }
}

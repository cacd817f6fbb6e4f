package dev.ember.trainer.data.convert;

import dev.ember.cache.batch.PooledBatch;
import dev.ember.trainer.data.Batch;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.data.DataPart;
import dev.ember.trainer.data.PlainReference;
import dev.ember.trainer.data.gen.GenSettings;
import dev.ember.trainer.data.gen.Generator;
import dev.ember.trainer.data.text.TextBatchReader;
import dev.ember.trainer.data.vocab.Vocabularies;
import dev.ember.trainer.data.vocab.Vocabulary;
import dev.ember.trainer.data.vocab.VocabularyOrder;
import dev.ember.trainer.data.vocab.VocabularySettings;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConverterTest {
    @TempDir
    static Path dir;
    /** Generated data with small tables so values repeat (scale 0.002: largest table ~20k rows). */
    static Path generated;
    static PlainReference reference;

    @BeforeAll
    static void generate() throws IOException {
        generated = dir.resolve("gen.tsv");
        Generator.run(GenSettings.defaults(generated, 30_000, 7).withScale(0.002).withThreads(2));
        reference = PlainReference.read(generated, false);
    }

    static ConvertSettings settings(Path in, String out) {
        return ConvertSettings.defaults(in).withOutDir(dir.resolve(out)).withThreads(3);
    }

    /** Every sample of the binary form equals the plain reference (String.split + HashMap ids). */
    static void assertMatchesReference(BinaryDataset data, PlainReference ref, List<Map<Long, Integer>> ids) {
        assertEquals(ref.samples.size(), data.samples());
        Batch b = new Batch(1000);
        DataPart all = data.all();
        int i = 0;
        for (long k = 0; k < all.batches(b.capacity()); k++) {
            all.read(k, b);
            for (int s = 0; s < b.size(); s++, i++) {
                PlainReference.Sample x = ref.samples.get(i);
                assertEquals(x.label(), b.labels()[s], "label of sample " + i);
                for (int d = 0; d < 13; d++) {
                    assertEquals(Float.floatToIntBits(x.dense()[d]), Float.floatToIntBits(b.dense()[s * 13 + d]),
                            "dense " + d + " of sample " + i);
                }
                for (int t = 0; t < 26; t++) {
                    int from = b.offsets(t)[s];
                    assertEquals(x.keys()[t].length, b.offsets(t)[s + 1] - from, "bag size, table " + t);
                    for (int j = 0; j < x.keys()[t].length; j++) {
                        assertEquals((int) ids.get(t).get(x.keys()[t][j]), b.ids(t)[from + j],
                                "id of sample " + i + " table " + t);
                    }
                }
            }
        }
        assertEquals(ref.samples.size(), i);
    }

    @Test
    void roundTripOfGeneratedFileMatchesPlainReference() throws IOException {
        ConvertResult r = new Converter(settings(generated, "rt"), 64 << 10).run();
        assertEquals(30_000, r.samples());
        assertEquals(0, r.malformed());
        assertFalse(r.upToDate());
        BinaryDataset data = BinaryDataset.open(r.outDir());
        List<Map<Long, Integer>> ids = reference.firstAppearanceIds(1);
        assertMatchesReference(data, reference, ids);
        for (int t = 0; t < 26; t++) {
            assertEquals(ids.get(t).size() + 1, data.rows(t), "rows of table " + t + " (distinct values + id 0)");
            assertEquals(1, data.layout().fixedBag(t));
        }
        // split by position: the last round(n/7) samples are held out
        assertEquals(30_000 - Math.round(30_000 / 7.0), data.train().samples());
        assertEquals(data.train().end(), data.test().start());
        assertEquals(30_000, data.test().end());
    }

    @Test
    void threadCountAndBlockSizeDoNotChangeTheOutput() throws IOException {
        ConvertResult one = new Converter(settings(generated, "t1").withThreads(1)).run();
        ConvertResult many = new Converter(settings(generated, "t4").withThreads(4), 16 << 10).run();
        assertArrayEquals(Files.readAllBytes(one.outDir().resolve("data.bin")),
                Files.readAllBytes(many.outDir().resolve("data.bin")));
        for (int t = 0; t < 26; t++) {
            assertArrayEquals(Files.readAllBytes(Vocabularies.file(one.outDir().resolve("vocab"), t)),
                    Files.readAllBytes(Vocabularies.file(many.outDir().resolve("vocab"), t)));
        }
    }

    @Test
    void gzipGivesTheSameConversion() throws IOException {
        Path gz = dir.resolve("gen.tsv.gz");
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(gz))) {
            Files.copy(generated, o);
        }
        ConvertResult plain = new Converter(settings(generated, "plain")).run();
        ConvertResult zipped = new Converter(settings(gz, "gz"), 32 << 10).run();
        assertEquals(plain.samples(), zipped.samples());
        assertArrayEquals(Files.readAllBytes(plain.outDir().resolve("data.bin")),
                Files.readAllBytes(zipped.outDir().resolve("data.bin")));
    }

    /** Lines with problems at known places, spread over many small blocks. */
    static Path withMalformed(Path out, Map<Integer, String> bad) throws IOException {
        List<String> lines = Files.readAllLines(generated).subList(0, 3000);
        List<String> mixed = new ArrayList<>(lines);
        for (Map.Entry<Integer, String> e : bad.entrySet()) {
            mixed.set(e.getKey() - 1, e.getValue());
        }
        Files.write(out, mixed);
        return out;
    }

    static Map<Integer, String> problems() {
        String good = "1" + "\t5".repeat(13) + "\tabc".repeat(26);
        Map<Integer, String> bad = new LinkedHashMap<>();
        bad.put(3, "2" + good.substring(1));                       // label
        bad.put(700, good.substring(0, good.lastIndexOf('\t')));   // 39 fields
        bad.put(701, good + "\t");                                // 41 fields
        bad.put(1500, good.replaceFirst("\t5\t", "\t5x\t"));        // integer
        bad.put(2222, good.replace("\tabc", "\tabg"));             // hex
        bad.put(2223, "");                                        // empty line
        bad.put(2999, good.replaceFirst("abc", "1234567890abcdef")); // 16 hex digits
        return bad;
    }

    @Test
    void malformedLinesAreCountedAndReportedWithLineNumbers() throws IOException {
        Map<Integer, String> bad = problems();
        Path in = withMalformed(dir.resolve("bad.tsv"), bad);
        ConvertResult r = new Converter(settings(in, "bad"), 8 << 10).run();
        assertEquals(bad.size(), r.malformed());
        assertEquals(3000 - bad.size(), r.samples());
        assertEquals(3000, r.lines());
        List<Long> lines = r.firstMalformed().stream().map(Malformed::line).toList();
        assertEquals(bad.keySet().stream().map(Long::valueOf).toList(), lines);
        assertTrue(r.firstMalformed().get(0).reason().contains("label"));
        assertTrue(r.firstMalformed().get(1).reason().contains("fewer than 40"));
        assertTrue(r.firstMalformed().get(2).reason().contains("more than 40"));
        assertTrue(r.firstMalformed().get(3).reason().startsWith("field 2: integer"));
        assertTrue(r.firstMalformed().get(4).reason().startsWith("field 15: categorical"));
        assertTrue(r.firstMalformed().get(5).reason().contains("empty"));
        List<String> tsv = Files.readAllLines(r.outDir().resolve("malformed.tsv"));
        assertEquals(bad.size() + 1, tsv.size());
        assertTrue(tsv.get(1).startsWith("3\t"));
        // the good lines are all there, in order
        PlainReference ref = PlainReference.read(in, false);
        assertEquals(bad.keySet().stream().map(Long::valueOf).toList(), ref.malformedLines);
        assertMatchesReference(BinaryDataset.open(r.outDir()), ref, ref.firstAppearanceIds(1));
    }

    @Test
    void strictStopsAtTheFirstMalformedLine() throws IOException {
        Map<Integer, String> bad = new LinkedHashMap<>(problems());
        bad.remove(3);
        Path in = withMalformed(dir.resolve("strict.tsv"), bad);
        MalformedLineException e = assertThrows(MalformedLineException.class,
                () -> new Converter(settings(in, "strict").withStrict(true), 4 << 10).run());
        assertEquals(700, e.first().line());
        assertTrue(e.getMessage().contains("line 700"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("strict").resolve("meta.json")));
    }

    @Test
    void emptyFieldsReadAsZeroAndAsAValueOfTheirOwn() throws IOException {
        String a = "0" + "\t".repeat(39);                                 // all empty
        String b = "1\t-5" + "\t".repeat(12) + "7" + "\tff".repeat(25) + "\t"; // dense 1-11 and the last table empty
        Path in = dir.resolve("empty.tsv");
        Files.writeString(in, a + "\n" + b + "\n" + a); // no final newline
        ConvertResult r = new Converter(settings(in, "empty")).run();
        assertEquals(3, r.samples());
        BinaryDataset data = BinaryDataset.open(r.outDir());
        Batch batch = new Batch(4);
        data.read(0, 3, batch);
        for (int d = 0; d < 13; d++) {
            assertEquals(0f, batch.dense()[d]);
            assertEquals(d == 12 ? (float) StrictMath.log1p(7) : 0f, batch.dense()[13 + d]);
        }
        for (int t = 0; t < 26; t++) {
            // the empty value is seen first in every table: id 1; "ff" gets id 2; the last table is empty in both
            assertEquals(1, batch.ids(t)[0]);
            assertEquals(t == 25 ? 1 : 2, batch.ids(t)[1]);
            assertEquals(1, batch.ids(t)[2]);
        }
    }

    @Test
    void minCountAndFrequencyOrder() throws IOException {
        VocabularySettings v = new VocabularySettings(3, new int[26], VocabularyOrder.FREQUENCY);
        ConvertResult r = new Converter(settings(generated, "freq").withVocabulary(v)).run();
        List<LinkedHashMap<Long, long[]>> counts = reference.counts();
        List<Map<Long, Integer>> ids = new ArrayList<>();
        for (LinkedHashMap<Long, long[]> table : counts) {
            List<Map.Entry<Long, long[]>> kept = new ArrayList<>(table.entrySet().stream()
                    .filter(e -> e.getValue()[0] >= 3).toList());
            kept.sort((x, y) -> x.getValue()[0] != y.getValue()[0] ? Long.compare(y.getValue()[0], x.getValue()[0])
                    : Long.compare(x.getValue()[1], y.getValue()[1]));
            Map<Long, Integer> m = new HashMap<>();
            table.keySet().forEach(k -> m.put(k, 0));
            for (int i = 0; i < kept.size(); i++) {
                m.put(kept.get(i).getKey(), i + 1);
            }
            ids.add(m);
        }
        BinaryDataset data = BinaryDataset.open(r.outDir());
        assertMatchesReference(data, reference, ids);
        Vocabularies vocab = Vocabularies.load(r.outDir().resolve("vocab"), v);
        boolean someRare = false;
        for (int t = 0; t < 26; t++) {
            Vocabulary tv = vocab.table(t);
            long rare = counts.get(t).values().stream().filter(c -> c[0] < 3).mapToLong(c -> c[0]).sum();
            assertEquals(rare, tv.rareOccurrences());
            someRare |= rare > 0;
            for (int k = 1; k < tv.kept(); k++) {
                assertTrue(tv.countOfRank(k - 1) >= tv.countOfRank(k));
            }
        }
        assertTrue(someRare, "the test data should have rare values");
    }

    @Test
    void capsHashTheTail() throws IOException {
        int[] caps = new int[26];
        caps[2] = 1000;   // ~20k distinct values
        caps[8] = 100;    // 3 values: under the cap
        VocabularySettings v = new VocabularySettings(1, caps, VocabularyOrder.FIRST);
        ConvertResult r = new Converter(settings(generated, "cap").withVocabulary(v)).run();
        BinaryDataset data = BinaryDataset.open(r.outDir());
        assertEquals(1000, data.rows(2));
        assertEquals(reference.counts().get(8).size() + 1, data.rows(8));
        Vocabulary tv = Vocabularies.load(r.outDir().resolve("vocab"), v).table(2);
        int tail = 1000 / 8;
        assertEquals(tail, tv.tailBuckets());
        assertEquals(1000 - 1 - tail, tv.head());
        // head values keep first-appearance ids; tail values land in the last `tail` ids, by key
        List<Long> order = new ArrayList<>(reference.counts().get(2).keySet());
        int[] used = new int[1000];
        for (int i = 0; i < order.size(); i++) {
            int id = tv.id(order.get(i));
            if (i < tv.head()) {
                assertEquals(i + 1, id);
            } else {
                assertTrue(id >= 1000 - tail && id < 1000, "tail id " + id);
                used[id]++;
            }
        }
        long buckets = Arrays.stream(used).filter(c -> c > 0).count();
        assertTrue(buckets > tail * 0.9, "tail spreads over the buckets: " + buckets);
        // the batches carry the same ids
        Batch b = new Batch(500);
        data.all().read(3, b);
        for (int s = 0; s < b.size(); s++) {
            assertEquals(tv.id(reference.samples.get(1500 + s).keys()[2][0]), b.ids(2)[s]);
        }
    }

    @Test
    void aSecondRunReusesTheConversionAndOtherFilesReuseTheVocabularies() throws IOException {
        ConvertSettings s = settings(generated, "again");
        ConvertResult first = new Converter(s).run();
        Path bin = first.outDir().resolve("data.bin");
        long stamp = Files.getLastModifiedTime(bin).toMillis();
        byte[] vocab0 = Files.readAllBytes(Vocabularies.file(first.outDir().resolve("vocab"), 2));
        ConvertResult second = new Converter(s).run();
        assertTrue(second.upToDate());
        assertTrue(second.vocabReused());
        assertEquals(first.samples(), second.samples());
        assertEquals(stamp, Files.getLastModifiedTime(bin).toMillis());
        // different settings: converted again
        assertFalse(new Converter(s.withTestFraction(0.5)).run().upToDate());

        // a second file mapped through the first file's vocabularies
        Path other = dir.resolve("other.tsv");
        Path more = dir.resolve("more.tsv");
        Generator.run(GenSettings.defaults(more, 40_000, 7).withScale(0.002).withThreads(1));
        List<String> tail = Files.readAllLines(more);
        Files.write(other, tail.subList(30_000, 40_000)); // same values as the first 30000, and new ones
        ConvertResult mapped = new Converter(settings(other, "other").withReuseVocab(first.outDir().resolve("vocab")))
                .run();
        assertTrue(mapped.vocabReused());
        assertFalse(Files.exists(mapped.outDir().resolve("vocab")));
        assertArrayEquals(vocab0, Files.readAllBytes(Vocabularies.file(first.outDir().resolve("vocab"), 2)));
        PlainReference ref = PlainReference.read(other, false);
        List<Map<Long, Integer>> ids = new ArrayList<>();
        List<Map<Long, Integer>> trained = reference.firstAppearanceIds(1);
        for (int t = 0; t < 26; t++) {
            Map<Long, Integer> known = trained.get(t);
            Map<Long, Integer> m = new HashMap<>();
            for (PlainReference.Sample x : ref.samples) {
                for (long k : x.keys()[t]) {
                    m.put(k, known.getOrDefault(k, 0)); // unseen -> 0
                }
            }
            ids.add(m);
        }
        assertTrue(ids.get(2).values().stream().anyMatch(id -> id == 0), "some values are new");
        assertTrue(ids.get(2).values().stream().anyMatch(id -> id > 0 && trained.get(2).containsValue(id)));
        BinaryDataset data = BinaryDataset.open(mapped.outDir());
        assertMatchesReference(data, ref, ids);
        assertEquals(first.rows()[2], data.rows(2));
    }

    @Test
    void textAndBinaryGiveTheSameBatches() throws IOException {
        Path in = withMalformed(dir.resolve("tb.tsv"), problems());
        ConvertResult r = new Converter(settings(in, "tb"), 8 << 10).run();
        BinaryDataset data = BinaryDataset.open(r.outDir());
        Vocabularies vocab = Vocabularies.load(r.outDir().resolve("vocab"), null);
        for (int size : new int[] {1, 97, 2048}) {
            Batch fromText = new Batch(size);
            Batch fromBinary = new Batch(size);
            try (TextBatchReader text = new TextBatchReader(in, vocab, false, 1)) {
                long k = 0;
                while (text.next(fromText)) {
                    data.all().read(k++, fromBinary);
                    assertTrue(fromText.sameAs(fromBinary), "batch " + k + " of size " + size);
                }
                assertEquals(data.all().batches(size), k);
                assertEquals(problems().size(), text.malformed());
            }
        }
    }

    @Test
    void multiHotBagsRoundTrip() throws IOException {
        Random rnd = new Random(11);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 4000; i++) {
            sb.append(rnd.nextInt(2));
            for (int d = 0; d < 13; d++) {
                sb.append('\t').append(rnd.nextInt(5) == 0 ? "" : Integer.toString(rnd.nextInt(1000) - 3));
            }
            for (int t = 0; t < 26; t++) {
                sb.append('\t');
                int bag = t == 0 ? 2 : t == 1 ? 1 : rnd.nextInt(5); // tables 0 and 1 fixed, others vary (0 = empty)
                for (int j = 0; j < bag; j++) {
                    if (j > 0) {
                        sb.append(',');
                    }
                    sb.append(Integer.toHexString((int) (Math.pow(rnd.nextDouble(), 3) * (50 + t * 100))));
                }
            }
            sb.append('\n');
        }
        Path in = dir.resolve("multi.tsv");
        Files.writeString(in, sb);
        ConvertResult r = new Converter(settings(in, "multi").withMultiHot(true, 8), 16 << 10).run();
        assertEquals(4000, r.samples());
        BinaryDataset data = BinaryDataset.open(r.outDir());
        assertEquals(2, data.layout().fixedBag(0));
        assertEquals(1, data.layout().fixedBag(1));
        assertEquals(-1, data.layout().fixedBag(2));
        PlainReference ref = PlainReference.read(in, true);
        assertMatchesReference(data, ref, ref.firstAppearanceIds(1));
        Vocabularies vocab = Vocabularies.load(r.outDir().resolve("vocab"), null);
        Batch fromText = new Batch(300);
        Batch fromBinary = new Batch(300);
        try (TextBatchReader text = new TextBatchReader(in, vocab, true, 8)) {
            long k = 0;
            while (text.next(fromText)) {
                data.test().dataset().all().read(k++, fromBinary);
                assertTrue(fromText.sameAs(fromBinary), "batch " + k);
            }
        }
        // fae reads a window at once and hands its samples out in another order: the copy from the
        // window equals the dataset's per-sample read, and a store's bags copied in bulk equal
        // bags added id by id (multi-hot and empty bags included).
        Batch window = new Batch(4000);
        data.read(0, 4000, window);
        Batch viaWindow = new Batch(4000);
        Batch viaData = new Batch(4000);
        int[] order = rnd.ints(0, 4000).distinct().limit(4000).toArray();
        for (int from = 0, n = 1; from < order.length; from += n, n = Math.min(2 * n + 1, order.length - from)) {
            viaWindow.appendFrom(window, order, from, n); // runs of growing length
        }
        for (int s : order) {
            data.append(s, viaData);
        }
        assertTrue(viaWindow.sameAs(viaData));
        for (int t = 0; t < 26; t++) {
            PooledBatch bulk = new PooledBatch(1, 1).setBags(viaWindow.ids(t), viaWindow.offsets(t), viaWindow.size());
            PooledBatch one = new PooledBatch(1, 1);
            for (int s = 0; s < viaWindow.size(); s++) {
                for (int i = viaWindow.offsets(t)[s]; i < viaWindow.offsets(t)[s + 1]; i++) {
                    one.add(viaWindow.ids(t)[i]);
                }
                one.endBag();
            }
            assertEquals(one.bagCount(), bulk.bagCount());
            assertEquals(one.idCount(), bulk.idCount());
            assertArrayEquals(Arrays.copyOf(one.offsets(), one.bagCount() + 1), Arrays.copyOf(bulk.offsets(), bulk.bagCount() + 1));
            assertArrayEquals(Arrays.copyOf(one.ids(), one.idCount()), Arrays.copyOf(bulk.ids(), bulk.idCount()));
        }
        // a bag over the limit is malformed
        Files.writeString(in, sb.toString().replaceFirst("\n", "\t\n"));
        ConvertResult r2 = new Converter(settings(in, "multi2").withMultiHot(true, 1)).run();
        assertTrue(r2.malformed() > 1000);
        assertTrue(r2.firstMalformed().get(0).reason().contains("more than 40")
                || r2.firstMalformed().get(0).reason().contains("bag limit"));
    }

    @Test
    void damagedFilesAndMismatchedVocabulariesGiveClearErrors() throws IOException {
        ConvertResult r = new Converter(settings(generated, "damaged")).run();
        Path bin = r.outDir().resolve("data.bin");
        Path cut = dir.resolve("cut.bin");
        byte[] all = Files.readAllBytes(bin);
        Files.write(cut, Arrays.copyOf(all, all.length - 4096));
        IOException e = assertThrows(IOException.class, () -> BinaryDataset.open(cut));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        Files.write(cut, Arrays.copyOf("not data".getBytes(), 5000));
        e = assertThrows(IOException.class, () -> BinaryDataset.open(cut));
        assertTrue(e.getMessage().contains("not an Ember data file"), e.getMessage());
        VocabularySettings other = new VocabularySettings(5, new int[26], VocabularyOrder.FIRST);
        e = assertThrows(IOException.class, () -> Vocabularies.load(r.outDir().resolve("vocab"), other));
        assertTrue(e.getMessage().contains("min count 1") && e.getMessage().contains("--force"), e.getMessage());
        e = assertThrows(IOException.class, () -> BinaryDataset.open(dir.resolve("no-such-dir")));
        assertTrue(e.getMessage().contains("ember convert"), e.getMessage());
    }

    @Test
    void oneConversionPerFolderAtATime() throws IOException {
        Path out = dir.resolve("locked");
        Files.createDirectories(out);
        try (var ch = java.nio.channels.FileChannel.open(out.resolve(".lock"), java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE); var held = ch.lock()) {
            IOException e = assertThrows(IOException.class, () -> new Converter(settings(generated, "locked")).run());
            assertTrue(e.getMessage().contains("is writing"), e.getMessage());
        }
        assertEquals(30_000, new Converter(settings(generated, "locked")).run().samples());
    }

    @Test
    void anEmptyFileGivesAnEmptyDataset() throws IOException {
        Path in = dir.resolve("nothing.tsv");
        Files.writeString(in, "");
        BinaryDataset data = Converter.convertAndOpen(settings(in, "nothing"));
        assertEquals(0, data.samples());
        assertEquals(0, data.train().batches(64));
        assertEquals(1, data.rows(0));
        assertTrue(Converter.convertAndOpen(settings(in, "nothing")).samples() == 0);
    }

    @Test
    void badSettingsNameTheOption() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ConvertSettings.defaults(generated).withTestFraction(1.5));
        assertTrue(e.getMessage().contains("--test-fraction"));
        e = assertThrows(IllegalArgumentException.class,
                () -> new VocabularySettings(0, new int[26], VocabularyOrder.FIRST));
        assertTrue(e.getMessage().contains("--min-count"));
        IOException io = assertThrows(IOException.class, () -> new Converter(settings(dir.resolve("nope.tsv"), "x")).run());
        assertTrue(io.getMessage().contains("nope.tsv"));
    }
}

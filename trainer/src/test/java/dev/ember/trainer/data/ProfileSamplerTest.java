package dev.ember.trainer.data;

import dev.ember.trainer.data.convert.ConvertResult;
import dev.ember.trainer.data.convert.ConvertSettings;
import dev.ember.trainer.data.convert.Converter;
import dev.ember.trainer.data.gen.GenSettings;
import dev.ember.trainer.data.gen.Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProfileSamplerTest {
    @TempDir
    Path dir;

    @Test
    void drawsAboutTheRateDeterministicallyFromTheTrainingPart() throws IOException {
        Path tsv = dir.resolve("p.tsv");
        Generator.run(GenSettings.defaults(tsv, 40_000, 2).withScale(0.001).withThreads(2));
        ConvertResult r = new Converter(ConvertSettings.defaults(tsv).withThreads(2)).run();
        BinaryDataset data = BinaryDataset.open(r.outDir());
        DataPart train = data.train();

        List<Long> chosen = chosen(new ProfileSampler(train, ProfileSampler.DEFAULT_RATE, 42), train);
        double n = train.samples();
        double expected = n * 0.05;
        assertTrue(Math.abs(chosen.size() - expected) < 4 * Math.sqrt(expected * 0.95), "chosen " + chosen.size());
        assertTrue(chosen.get(chosen.size() - 1) < train.end());
        assertEquals(chosen, chosen(new ProfileSampler(train, 0.05, 42), train));
        assertNotEquals(chosen, chosen(new ProfileSampler(train, 0.05, 43), train));

        // the batches hold exactly the chosen samples, in order, whatever the batch size
        ProfileSampler s = new ProfileSampler(train, 0.05, 42);
        Batch got = new Batch(100);
        Batch one = new Batch(1);
        Batch expect = new Batch(100);
        int k = 0;
        while (s.next(got)) {
            expect.clear();
            for (int i = 0; i < got.size(); i++) {
                data.read(chosen.get(k++), 1, one);
                expect.append(one.labels()[0], one.dense(), 0, ids(one), sizes(one));
            }
            assertTrue(got.sameAs(expect));
        }
        assertEquals(chosen.size(), k);
        assertThrows(IllegalArgumentException.class, () -> new ProfileSampler(train, 0, 1));
    }

    private static List<Long> chosen(ProfileSampler s, DataPart part) {
        List<Long> out = new ArrayList<>();
        for (long i = part.start(); i < part.end(); i++) {
            if (s.chosen(i)) {
                out.add(i);
            }
        }
        return out;
    }

    private static int[][] ids(Batch b) {
        int[][] x = new int[26][];
        for (int t = 0; t < 26; t++) {
            x[t] = b.ids(t);
        }
        return x;
    }

    private static int[] sizes(Batch b) {
        int[] x = new int[26];
        for (int t = 0; t < 26; t++) {
            x[t] = b.offsets(t)[1];
        }
        return x;
    }
}

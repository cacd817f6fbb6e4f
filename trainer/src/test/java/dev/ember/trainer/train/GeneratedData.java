package dev.ember.trainer.train;

import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.data.convert.ConvertSettings;
import dev.ember.trainer.data.convert.Converter;
import dev.ember.trainer.data.gen.GenSettings;
import dev.ember.trainer.data.gen.Generator;
import java.io.IOException;
import java.nio.file.Path;

/** The trainer tests' data: generated Criteo-shaped samples at a thousandth of Kaggle's table sizes, converted. */
final class GeneratedData {
    private GeneratedData() {
    }

    /** Generates {@code samples} samples from {@code seed} into {@code dir} and converts them; returns the converted folder. */
    static Path converted(Path dir, int samples, long seed) throws IOException {
        Path tsv = dir.resolve("g.tsv");
        Generator.run(GenSettings.defaults(tsv, samples, seed).withScale(0.001).withThreads(2));
        return new Converter(ConvertSettings.defaults(tsv).withThreads(2)).run().outDir();
    }

    /** As {@link #converted}, opened. */
    static BinaryDataset open(Path dir, int samples, long seed) throws IOException {
        return BinaryDataset.open(converted(dir, samples, seed).resolve(BinaryDataset.DATA_FILE));
    }
}

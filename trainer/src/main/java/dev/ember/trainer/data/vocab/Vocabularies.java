package dev.ember.trainer.data.vocab;

import dev.ember.trainer.data.CriteoSchema;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The 26 tables' vocabularies, saved as {@code table-NN.vocab} files in one folder. */
public final class Vocabularies {
    private final Vocabulary[] tables;
    private final VocabularySettings settings;

    public Vocabularies(Vocabulary[] tables, VocabularySettings settings) {
        if (tables.length != CriteoSchema.TABLES) {
            throw new IllegalArgumentException("need " + CriteoSchema.TABLES + " vocabularies, got " + tables.length);
        }
        this.tables = tables.clone();
        this.settings = settings;
    }

    public static Path file(Path dir, int table) {
        return dir.resolve(String.format("table-%02d.vocab", table));
    }

    /** Whether {@code dir} holds all 26 vocabulary files. */
    public static boolean existIn(Path dir) {
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            if (!Files.isRegularFile(file(dir, t))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Loads them from {@code dir}, checking they were built with {@code settings} (null: take
     * the settings they were built with).
     */
    public static Vocabularies load(Path dir, VocabularySettings settings) throws IOException {
        Vocabulary[] v = new Vocabulary[CriteoSchema.TABLES];
        for (int t = 0; t < v.length; t++) {
            Path f = file(dir, t);
            if (!Files.isRegularFile(f)) {
                throw new IOException("vocabulary file missing: " + f);
            }
            v[t] = Vocabulary.load(f, t, settings);
        }
        if (settings == null) {
            int[] caps = new int[CriteoSchema.TABLES];
            for (int t = 0; t < caps.length; t++) {
                caps[t] = v[t].builtWith().cap(t);
            }
            VocabularySettings first = v[0].builtWith();
            settings = new VocabularySettings(first.minCount(), caps, first.order());
        }
        return new Vocabularies(v, settings);
    }

    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        for (int t = 0; t < tables.length; t++) {
            tables[t].save(file(dir, t));
        }
    }

    public Vocabulary table(int t) {
        return tables[t];
    }

    public VocabularySettings settings() {
        return settings;
    }

    /** Rows per table. */
    public int[] rows() {
        int[] r = new int[tables.length];
        for (int t = 0; t < r.length; t++) {
            r[t] = tables[t].rows();
        }
        return r;
    }
}

package dev.ember.trainer.data.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * {@code meta.json} of a conversion folder, written last: its presence says the conversion is
 * complete, and the source fingerprint and settings say whether it is still up to date.
 */
public record ConversionMeta(int version, String source, long sourceBytes, long sourceModifiedMillis,
                             boolean multiHot, int maxBag, int minCount, int[] caps, String order, String vocabDir,
                             double testFraction, long samples, long trainSamples, long lines, long malformed,
                             List<String> firstMalformed, int[] rows, long[] distinct, int[] fixedBag,
                             double seconds) {
    public static final String FILE = "meta.json";
    static final int VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public static ConversionMeta read(Path dir) throws IOException {
        return JSON.readValue(dir.resolve(FILE).toFile(), ConversionMeta.class);
    }

    void write(Path dir) throws IOException {
        Path tmp = dir.resolve(FILE + ".tmp");
        JSON.writeValue(tmp.toFile(), this);
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}

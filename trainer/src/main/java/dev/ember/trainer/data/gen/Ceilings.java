package dev.ember.trainer.data.gen;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The JSON written beside generated data: how it was made and two ceilings on the held-out part
 * (the last {@code testFraction} of samples). {@code plantedAuc}: the AUC of the planted logit.
 * {@code learnableAuc}: the AUC of the planted logit with every row seen fewer than
 * {@code ceilingMinCount} times in the training part replaced by its table's mean weight (mean
 * over the training part's occurrences of that table; empty fields weigh 0 in both). With
 * multi-hot fields ({@code maxBag > 1}) a table's term is the mean over its bag.
 */
public record Ceilings(long samples, long seed, double scale, double drift, long driftAt, int maxBag, double[] alpha,
                       int[] rows,
                       int[] signalTables, double bias, double tableStd, double denseWeight, double testFraction,
                       long trainSamples, long heldOutSamples, int ceilingMinCount, double clickRate,
                       double plantedAuc, double learnableAuc) {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public static Ceilings read(Path file) throws IOException {
        return JSON.readValue(file.toFile(), Ceilings.class);
    }

    void write(Path file) throws IOException {
        JSON.writeValue(file.toFile(), this);
    }
}

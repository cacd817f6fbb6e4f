package dev.ember.trainer.data.gen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The JSON written beside generated data: how it was made and the ceilings on the held-out part
 * (the last {@code testFraction} of samples). Empty fields weigh 0 throughout; with multi-hot
 * fields ({@code maxBag > 1}) a table's term is the mean over its bag.
 * <ul>
 * <li>{@code plantedAuc}: the AUC of the planted logit (every weight known).
 * <li>{@code learnableAuc}: the planted model restricted to what the training part reveals: every
 * signal row's weight replaced by its posterior mean given the training samples that hold it, under
 * the generator's prior of weights, the rest of the model known ({@link RowPosteriors}). No
 * estimator of the row weights does better in expectation; {@code ember reference --oracle}
 * recomputes it from converted data.
 * <li>{@code trueWeightsOfSeenRowsAuc}: the planted logit with the true weight of every row seen
 * at least {@code trueWeightsMinCount} times in the training part and its table's mean weight
 * (over the training part's occurrences) for the others. An earlier, looser ceiling: a row seen a
 * few times does not reveal its true weight, so no estimator reaches it.
 * </ul>
 */
public record Ceilings(long samples, long seed, double scale, double drift, long driftAt, int maxBag, double[] alpha,
                       int[] rows,
                       int[] signalTables, double bias, double tableStd, double denseWeight, double testFraction,
                       long trainSamples, long heldOutSamples, double clickRate, double plantedAuc, double learnableAuc,
                       double trueWeightsOfSeenRowsAuc, int trueWeightsMinCount) {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public static Ceilings read(Path file) throws IOException {
        JsonNode tree = JSON.readTree(file.toFile());
        if (tree.has("ceilingMinCount")) {
            throw new IOException(file + " was written by an older gen-data whose learnableAuc meant the true weights of"
                    + " rows seen ceilingMinCount times: generate the data again (ember gen-data)");
        }
        return JSON.treeToValue(tree, Ceilings.class);
    }

    void write(Path file) throws IOException {
        JSON.writeValue(file.toFile(), this);
    }
}

package dev.ember.trainer.model;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelStateTest {
    @Test
    void blobRoundTripKeepsEveryBit() {
        ModelConfig config = ModelConfig.of(4, new int[] {5, 9, 3}, new int[] {ModelConfig.topInputWidth(4, 3), 7, 1});
        int size = new ParameterLayout(config).size();
        SplittableRandom rnd = new SplittableRandom(3);
        float[] params = new float[size];
        float[] state = new float[size];
        for (int i = 0; i < size; i++) {
            params[i] = Float.intBitsToFloat(rnd.nextInt()); // any bits, NaN payloads and subnormals included
            state[i] = Float.intBitsToFloat(rnd.nextInt());
        }
        ModelState s = new ModelState(config, new OptimizerSettings(DenseOptimizer.ADAGRAD, 0.0123f, 1e-8f), 987654321L,
                params, state);
        ModelState back = ModelState.fromBytes(s.toBytes());
        assertEquals(config, back.config());
        assertEquals(s.optimizer(), back.optimizer());
        assertEquals(987654321L, back.updates());
        for (int i = 0; i < size; i++) {
            assertEquals(Float.floatToRawIntBits(params[i]), Float.floatToRawIntBits(back.parameters()[i]), "param " + i);
            assertEquals(Float.floatToRawIntBits(state[i]), Float.floatToRawIntBits(back.optimizerState()[i]), "state " + i);
        }
        assertArrayEquals(s.toBytes(), back.toBytes());
    }

    @Test
    void corruptOrForeignBlobIsRefused() {
        byte[] blob = ModelState.initial(ModelConfig.kaggle(), OptimizerSettings.sgd(0.1f), 1).toBytes();
        byte[] flipped = blob.clone();
        flipped[blob.length / 2] ^= 1;
        IllegalArgumentException corrupt = assertThrows(IllegalArgumentException.class, () -> ModelState.fromBytes(flipped));
        assertTrue(corrupt.getMessage().contains("corrupt"), corrupt.getMessage());
        byte[] cut = java.util.Arrays.copyOf(blob, 40);
        assertThrows(IllegalArgumentException.class, () -> ModelState.fromBytes(cut));
        IllegalArgumentException foreign = assertThrows(IllegalArgumentException.class,
                () -> ModelState.fromBytes("not a model at all".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
        assertTrue(foreign.getMessage().contains("magic"), foreign.getMessage());
    }

    @Test
    void initialWeightsFollowDlrmAndTheSeed() {
        ModelConfig kaggle = ModelConfig.kaggle();
        ParameterLayout layout = new ParameterLayout(kaggle);
        float[] a = MlpInit.parameters(layout, 42);
        assertArrayEquals(a, MlpInit.parameters(layout, 42));
        assertFalse(java.util.Arrays.equals(a, MlpInit.parameters(layout, 43)));
        for (int l = 0; l < layout.layers(); l++) {
            int n = layout.inputWidth(l);
            int m = layout.outputWidth(l);
            if (n * m >= 4096) {
                assertMoments("layer " + l + " W", a, layout.weightOffset(l), n * m, Math.sqrt(2.0 / (m + n)));
            }
            if (m >= 256) {
                assertMoments("layer " + l + " b", a, layout.biasOffset(l), m, Math.sqrt(1.0 / m));
            }
        }
        // a layer's values do not depend on another layer's width
        ModelConfig wider = ModelConfig.of(26, new int[] {13, 512, 256, 64, 16}, new int[] {367, 1024, 256, 1});
        float[] b = MlpInit.parameters(new ParameterLayout(wider), 42);
        assertEquals(a[layout.weightOffset(0) + 17], b[new ParameterLayout(wider).weightOffset(0) + 17]);
    }

    private static void assertMoments(String what, float[] v, int from, int count, double std) {
        double sum = 0;
        double sq = 0;
        for (int i = from; i < from + count; i++) {
            sum += v[i];
            sq += (double) v[i] * v[i];
        }
        double mean = sum / count;
        double sd = Math.sqrt(sq / count - mean * mean);
        // sampling error of a normal sample: mean ~ std/sqrt(n), sd ~ std/sqrt(2n); 5 sigma
        assertTrue(Math.abs(mean) < 5 * std / Math.sqrt(count), what + " mean " + mean);
        assertTrue(Math.abs(sd - std) < 5 * std / Math.sqrt(2.0 * count), what + " std " + sd + " vs " + std);
    }
}

package dev.ember.trainer.model.cuda;

import dev.ember.trainer.model.ModelConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How the CUDA backend cuts a weight gradient over the batch (host arithmetic only: runs without a GPU). */
class WeightGradientSplitTest {
    @Test
    void chunksAreLongMultiplesOf32AndFewEnoughForTheScratchBuffer() {
        ModelConfig kaggle = ModelConfig.kaggle();
        for (int l = 0; l < kaggle.layers(); l++) {
            int in = kaggle.inputWidth(l);
            int out = kaggle.outputWidth(l);
            int tiles = ((in + 127) / 128) * ((out + 127) / 128);
            for (int batch = 1; batch <= 8192; batch += 37) {
                int rows = CudaDenseBackend.splitRows(batch, in, out);
                if (rows == 0) {
                    continue;
                }
                assertTrue(rows >= 128 && rows % 32 == 0 && rows < batch, "layer " + l + " batch " + batch + ": " + rows);
                int parts = (batch + rows - 1) / rows;
                assertTrue(parts <= Math.min((8192 + 127) / 128, (264 + tiles - 1) / tiles + 1),
                        "layer " + l + " batch " + batch + ": " + parts + " parts");
            }
        }
        assertEquals(0, CudaDenseBackend.splitRows(255, 64, 16), "a batch under two chunks is one product");
        assertEquals(128, CudaDenseBackend.splitRows(8192, 64, 16), "one output tile: the shortest chunks");
    }
}

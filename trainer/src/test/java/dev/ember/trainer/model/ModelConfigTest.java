package dev.ember.trainer.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelConfigTest {
    @Test
    void kaggleShape() {
        ModelConfig k = ModelConfig.kaggle();
        assertEquals(13, k.denseFeatures());
        assertEquals(26, k.tables());
        assertEquals(16, k.dim());
        assertEquals(351, k.interactionPairs());
        assertEquals(367, k.topInput());
        assertEquals(7, k.layers());
        assertEquals("tables=26 bottom=13-512-256-64-16 top=367-512-256-1", k.toString());
        // 13*512+512 + 512*256+256 + 256*64+64 + 64*16+16 + 367*512+512 + 512*256+256 + 256+1
        assertEquals(k, ModelConfig.dlrm(26, "13-512-256-64-16", "512-256-1"));
        assertEquals(7168 + 131328 + 16448 + 1040 + 188416 + 131328 + 257, new ParameterLayout(k).size());
    }

    @Test
    void inconsistentShapesNameTheSetting() {
        IllegalArgumentException top = assertThrows(IllegalArgumentException.class,
                () -> ModelConfig.of(26, new int[] {13, 512, 16}, new int[] {366, 1}));
        assertTrue(top.getMessage().contains("367"), top.getMessage());
        IllegalArgumentException last = assertThrows(IllegalArgumentException.class,
                () -> ModelConfig.of(2, new int[] {3, 4}, new int[] {7, 2}));
        assertTrue(last.getMessage().contains("width 1"), last.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ModelConfig.of(0, new int[] {3, 4}, new int[] {4, 1}));
        assertThrows(IllegalArgumentException.class, () -> ModelConfig.of(2, new int[] {3}, new int[] {7, 1}));
        IllegalArgumentException parse = assertThrows(IllegalArgumentException.class,
                () -> ModelConfig.parseWidths("--arch-mlp-bot", "13-x-16"));
        assertTrue(parse.getMessage().contains("--arch-mlp-bot"), parse.getMessage());
        assertArrayEquals(new int[] {13, 512, 256, 64, 16}, ModelConfig.parseWidths("bottom", "13-512-256-64-16"));
    }
}

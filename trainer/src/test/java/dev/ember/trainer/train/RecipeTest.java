package dev.ember.trainer.train;

import dev.ember.cache.table.Optimizer;
import dev.ember.trainer.model.DenseOptimizer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The recipe's checks, names and warm-up schedule. */
class RecipeTest {
    @Test
    void warmupGrowsLinearlyToOneAndStaysThere() {
        Recipe r = new Recipe(1, Optimizer.ROWWISE_ADAGRAD, 0.1f, DenseOptimizer.SGD, 1f, 4);
        assertEquals(0.25f, r.warmupFactor(0));
        assertEquals(0.5f, r.warmupFactor(1));
        assertEquals(0.75f, r.warmupFactor(2));
        assertEquals(1f, r.warmupFactor(3));
        assertEquals(1f, r.warmupFactor(1_000_000));
        Recipe none = Recipe.sgd(1f);
        assertEquals(1f, none.warmupFactor(0));
    }

    @Test
    void theDefaultRecipeIsOneEpochOfSgdAtOneRate() {
        Recipe r = Recipe.sgd(0.5f);
        assertEquals(1, r.epochs());
        assertEquals(Optimizer.SGD, r.embeddingOptimizer());
        assertEquals(DenseOptimizer.SGD, r.denseOptimizer());
        assertEquals(0.5f, r.embeddingLr());
        assertEquals(0.5f, r.denseLr());
    }

    @Test
    void namesParseBothWaysAndUnknownOnesAreNull() {
        for (Optimizer o : Optimizer.values()) {
            assertEquals(o, Recipe.parseEmbeddingOptimizer(Recipe.label(o)));
        }
        assertEquals(Optimizer.ROWWISE_ADAGRAD, Recipe.parseEmbeddingOptimizer(" RowWise_Adagrad "));
        assertNull(Recipe.parseEmbeddingOptimizer("adam"));
        assertEquals(DenseOptimizer.ADAGRAD, Recipe.parseDenseOptimizer("Adagrad"));
        assertNull(Recipe.parseDenseOptimizer("rowwise-adagrad"));
    }

    @Test
    void badValuesNameTheirOption() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Recipe(0, Optimizer.SGD, 1f, DenseOptimizer.SGD, 1f, 0));
        assertTrue(e.getMessage().startsWith("--epochs"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Recipe(1, Optimizer.SGD, Float.NaN, DenseOptimizer.SGD, 1f, 0));
        assertTrue(e.getMessage().startsWith("--embedding-lr"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Recipe(1, Optimizer.SGD, 1f, DenseOptimizer.SGD, 1f, -1));
        assertTrue(e.getMessage().startsWith("--warmup-steps"), e.getMessage());
        assertEquals(3, Recipe.problems(1, null, 1f, null, 0f, 0).size());
    }
}

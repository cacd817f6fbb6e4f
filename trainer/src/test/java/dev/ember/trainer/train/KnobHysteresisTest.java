package dev.ember.trainer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.cache.knob.Hysteresis;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The trainer's knob settings from system properties: hysteresis of one sigma of counting noise
 * by default ({@code -Dember.knob.sigmas}), 384 moves a boundary ({@code -Dember.move.chunkRows}),
 * each read with a clear error.
 */
class KnobHysteresisTest {
    private static final String PROPERTY = "ember.knob.sigmas";
    private final String before = System.getProperty(PROPERTY);

    @AfterEach
    void restore() {
        if (before == null) {
            System.clearProperty(PROPERTY);
        } else {
            System.setProperty(PROPERTY, before);
        }
    }

    @Test
    void defaultsToTenPercentAndOneSigmaAndTakesTheProperty() {
        System.clearProperty(PROPERTY);
        assertEquals(new Hysteresis(0.1, 1), Trainer.knobHysteresis());
        System.setProperty(PROPERTY, "2.5");
        assertEquals(new Hysteresis(0.1, 2.5), Trainer.knobHysteresis());
        System.setProperty(PROPERTY, "0");
        assertEquals(Hysteresis.ofMargin(0.1), Trainer.knobHysteresis());
    }

    @Test
    void theMoveChunkHasADefaultAndABadValueIsRefusedNamingTheProperty() {
        String was = System.getProperty("ember.move.chunkRows");
        try {
            System.clearProperty("ember.move.chunkRows");
            assertEquals(Trainer.MOVE_CHUNK_ROWS, Trainer.moveChunkRows());
            System.setProperty("ember.move.chunkRows", "300");
            assertEquals(300, Trainer.moveChunkRows());
            for (String bad : new String[] {"many", "0", "-3", "1.5"}) {
                System.setProperty("ember.move.chunkRows", bad);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, Trainer::moveChunkRows, bad);
                assertTrue(e.getMessage().startsWith("-Dember.move.chunkRows=" + bad + ": "), e.getMessage());
            }
        } finally {
            if (was == null) {
                System.clearProperty("ember.move.chunkRows");
            } else {
                System.setProperty("ember.move.chunkRows", was);
            }
        }
    }

    @Test
    void aBadValueIsRefusedNamingTheProperty() {
        for (String bad : new String[] {"one", "-1", "11", "NaN"}) {
            System.setProperty(PROPERTY, bad);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, Trainer::knobHysteresis, bad);
            assertTrue(e.getMessage().startsWith("-Dember.knob.sigmas=" + bad + ": "), e.getMessage());
        }
    }
}

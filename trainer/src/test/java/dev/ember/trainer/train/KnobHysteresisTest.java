package dev.ember.trainer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.cache.knob.Hysteresis;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The trainer's hysteresis: one sigma of counting noise by default, {@code -Dember.knob.sigmas} read with a clear error. */
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
    void aBadValueIsRefusedNamingTheProperty() {
        for (String bad : new String[] {"one", "-1", "11", "NaN"}) {
            System.setProperty(PROPERTY, bad);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, Trainer::knobHysteresis, bad);
            assertTrue(e.getMessage().startsWith("-Dember.knob.sigmas=" + bad + ": "), e.getMessage());
        }
    }
}

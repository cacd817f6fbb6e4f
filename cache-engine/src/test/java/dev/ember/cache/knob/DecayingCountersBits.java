package dev.ember.cache.knob;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.cache.popularity.DecayingCounters;

final class DecayingCountersBits {
    private DecayingCountersBits() {
    }

    static void assertSame(DecayingCounters x, DecayingCounters y) {
        for (int t = 0; t < x.tables().size(); t++) {
            assertEquals(x.scoredRows(t), y.scoredRows(t));
            for (int row = 0; row < x.tables().get(t).rows(); row++) {
                assertEquals(Double.doubleToRawLongBits(x.score(t, row)), Double.doubleToRawLongBits(y.score(t, row)));
            }
        }
    }
}

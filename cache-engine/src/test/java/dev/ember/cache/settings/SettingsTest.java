package dev.ember.cache.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class SettingsTest {
    @Test
    void aWholeNumberComesFromItsPropertyOrTheDefaultAndABadOneIsRefusedByName() {
        String property = "ember.test.setting";
        try {
            System.clearProperty(property);
            assertEquals(7, Settings.wholeNumber(property, 7, n -> n >= 2, "the test needs a whole number >= 2"));
            System.setProperty(property, " 5 ");
            assertEquals(5, Settings.wholeNumber(property, 7, n -> n >= 2, "the test needs a whole number >= 2"));
            for (String bad : new String[] {"1", "-4", "five", "", "2.5"}) {
                System.setProperty(property, bad);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> Settings.wholeNumber(property, 7, n -> n >= 2, "the test needs a whole number >= 2"));
                assertEquals("-D" + property + "=" + bad + ": the test needs a whole number >= 2 (leave it unset for the default, 7)",
                        e.getMessage());
            }
        } finally {
            System.clearProperty(property);
        }
    }
}

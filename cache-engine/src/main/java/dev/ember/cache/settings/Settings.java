package dev.ember.cache.settings;

import java.util.function.IntPredicate;

/**
 * Tuning settings read from {@code -D} system properties: a value that is not what the setting
 * needs is refused in one line naming the property, the value and the default, never ignored.
 */
public final class Settings {
    private Settings() {
    }

    /**
     * System property {@code property} as a whole number that {@code valid} accepts, else
     * {@code otherwise} when it is unset. A bad value throws "-Dproperty=value: {@code needs}
     * (leave it unset for the default, otherwise)".
     */
    public static int wholeNumber(String property, int otherwise, IntPredicate valid, String needs) {
        String v = System.getProperty(property);
        if (v == null) {
            return otherwise;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (valid.test(n)) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("-D" + property + "=" + v + ": " + needs + " (leave it unset for the default, "
                + otherwise + ")");
    }
}

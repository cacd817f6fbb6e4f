package dev.ember.cache.cold;

/**
 * Keeps Chronicle from calling out when Ember is embedded in a JVM that was not started with
 * {@code etc/jvm.options} (which passes {@code -Dchronicle.analytics.disable=true} to every JVM
 * Ember starts). Chronicle reads these properties when its classes initialise, so every class
 * that touches Chronicle first runs {@link #ensure()} from its static initialiser. A value the
 * user set explicitly is left alone.
 */
public final class NoCallsOut {
    private NoCallsOut() {
    }

    public static void ensure() {
        setIfAbsent("chronicle.analytics.disable", "true");
        setIfAbsent("chronicle.announcer.disable", "true");
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}

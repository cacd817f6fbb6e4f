package dev.ember.gpu.tiered;

/**
 * A system property set for the length of a try block and put back as it was after (cleared if
 * it was unset): how a test opens a tiered store with one of its {@code -D} switches.
 */
final class SystemProperty implements AutoCloseable {
    private final String key;
    private final String before;

    private SystemProperty(String key, String value) {
        this.key = key;
        this.before = System.getProperty(key);
        System.setProperty(key, value);
    }

    static SystemProperty set(String key, String value) {
        return new SystemProperty(key, value);
    }

    @Override
    public void close() {
        if (before == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, before);
        }
    }
}

package dev.ember.trainer.model;

/** The argument checks every {@link DenseBackend} makes, with one wording for all backends. */
public final class DenseArgs {
    private DenseArgs() {
    }

    public static void checkBatch(int batch, int maxBatch) {
        if (batch < 1 || batch > maxBatch) {
            throw new IllegalArgumentException("batch " + batch + " is outside [1, maxBatch " + maxBatch
                    + "]; build the backend with a larger maxBatch");
        }
    }

    /**
     * Checks that {@code floats} fit {@code array} from {@code offset}; the message names
     * {@code what} (and {@code table} unless it is -1) and is built only on failure.
     */
    public static void checkArray(String what, int table, float[] array, int offset, int floats) {
        if (offset < 0 || (long) offset + floats > array.length) {
            throw new IllegalArgumentException(what + (table < 0 ? "" : table) + ": " + floats + " floats from offset " + offset
                    + " do not fit an array of " + array.length);
        }
    }

    public static void checkTable(int table, int tables) {
        if (table < 0 || table >= tables) {
            throw new IllegalArgumentException("table " + table + " is outside [0, " + tables + ")");
        }
    }
}

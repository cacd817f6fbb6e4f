package dev.ember.cache.knob;

import dev.ember.cache.table.TableSpec;
import java.util.List;

/** Hot-tier memory for the knob: a number of bytes, or a fraction of all embedding bytes. */
public record Budget(long bytes, double fraction) {

    public Budget {
        if (bytes < 0) {
            throw new IllegalArgumentException("budget bytes must be >= 0, got " + bytes);
        }
        if (!(fraction >= 0 && fraction <= 1) || (bytes > 0 && fraction > 0)) {
            throw new IllegalArgumentException("budget fraction must be in [0, 1] and not given with bytes, got "
                    + fraction + " with " + bytes + " bytes");
        }
    }

    public static Budget ofBytes(long bytes) {
        return new Budget(bytes, 0);
    }

    /** A fraction of the bytes of every row of every table (e.g. 0.05 = 5%). */
    public static Budget ofFraction(double fraction) {
        if (!(fraction > 0 && fraction <= 1)) {
            throw new IllegalArgumentException("budget fraction must be in (0, 1], got " + fraction);
        }
        return new Budget(0, fraction);
    }

    /** Bytes for these tables. */
    public long resolve(List<TableSpec> tables) {
        if (fraction == 0) {
            return bytes;
        }
        return (long) Math.floor(fraction * totalBytes(tables));
    }

    /** Bytes of every row of every table (rows times {@code layout().bytesPerRow()}). */
    public static double totalBytes(List<TableSpec> tables) {
        double total = 0;
        for (TableSpec t : tables) {
            total += (double) t.rows() * t.layout().bytesPerRow();
        }
        return total;
    }

    @Override
    public String toString() {
        return fraction == 0 ? bytes + " bytes" : (fraction * 100) + "% of all rows";
    }
}

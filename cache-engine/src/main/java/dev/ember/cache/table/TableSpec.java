package dev.ember.cache.table;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * An embedding table: a name, a number of rows, a row width and the optimizer whose state is
 * stored with each row.
 */
public record TableSpec(String name, long rows, int dim, Optimizer optimizer) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    /** Wide enough for any real table; narrow enough that a row stays one cache-friendly unit. */
    public static final int MAX_DIM = 1024;

    public TableSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(optimizer, "optimizer");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("table name '" + name + "' must be 1-64 of [A-Za-z0-9_.-]");
        }
        if (rows <= 0) {
            throw new IllegalArgumentException("table " + name + ": rows must be > 0, got " + rows);
        }
        if (dim <= 0 || dim > MAX_DIM) {
            throw new IllegalArgumentException("table " + name + ": dim must be in 1.." + MAX_DIM + ", got " + dim);
        }
    }

    public RowLayout layout() {
        return RowLayout.of(dim, optimizer);
    }
}

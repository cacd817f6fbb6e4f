package dev.ember.jmh.tiering;

import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import java.util.ArrayList;
import java.util.List;

/** The 26 categorical tables of Criteo Kaggle (DLRM's vocabulary sizes), dim 16, optionally scaled down. */
public final class KaggleTables {
    static final long[] ROWS = {1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194, 27,
        14992, 5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572};

    private KaggleTables() {
    }

    public static List<TableSpec> tables(double scale, Optimizer optimizer) {
        List<TableSpec> out = new ArrayList<>();
        for (int t = 0; t < ROWS.length; t++) {
            out.add(new TableSpec("C" + (t + 1), Math.max(1, (long) Math.ceil(ROWS[t] * scale)), 16, optimizer));
        }
        return out;
    }
}

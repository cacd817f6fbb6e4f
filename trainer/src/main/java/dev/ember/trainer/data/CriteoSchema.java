package dev.ember.trainer.data;

/**
 * The shape of a Criteo sample: a 0/1 label, 13 integer (dense) features and 26 categorical
 * features, one embedding table each.
 */
public final class CriteoSchema {
    /** Integer features per sample. */
    public static final int DENSE = 13;
    /** Categorical features (embedding tables) per sample. */
    public static final int TABLES = 26;
    /** Tab-separated fields per line: label, dense, categorical. */
    public static final int FIELDS = 1 + DENSE + TABLES;

    /**
     * Distinct values per categorical feature in the Criteo Kaggle (Display Advertising
     * Challenge) data set, as facebookresearch/dlrm reports them for its Kaggle model.
     */
    private static final int[] KAGGLE_ROWS = {
            1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194,
            27, 14992, 5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572};

    private CriteoSchema() {
    }

    /** A copy of the Kaggle table sizes, table 0 first. */
    public static int[] kaggleRows() {
        return KAGGLE_ROWS.clone();
    }

    /** The Kaggle table sizes scaled by {@code scale}, each at least {@code 2}. */
    public static int[] kaggleRows(double scale) {
        if (!(scale > 0) || scale > 1000) {
            throw new IllegalArgumentException("scale must be in (0, 1000], got " + scale);
        }
        int[] rows = new int[TABLES];
        for (int t = 0; t < TABLES; t++) {
            rows[t] = (int) Math.max(2, Math.min(Integer.MAX_VALUE - 1, Math.round(KAGGLE_ROWS[t] * scale)));
        }
        return rows;
    }
}

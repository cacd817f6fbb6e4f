package dev.ember.trainer.model;

import java.util.Arrays;

/**
 * The shape of a DLRM dense model: how many dense features and embedding tables, the embedding
 * dimension, and the widths of the bottom and top MLPs.
 *
 * <p>Both MLPs are given as full width lists, input first, as DLRM's {@code --arch-mlp-bot}:
 * the bottom MLP maps the dense features ({@code bottom[0]}) to one vector of the embedding
 * dimension ({@code bottom[last]}); the top MLP reads that vector concatenated with the
 * {@code n(n-1)/2} pairwise dots of the {@code n = tables + 1} interaction vectors, so
 * {@code top[0] = dim + n(n-1)/2}, and ends in one logit ({@code top[last] = 1}).
 * Kaggle shape: {@code 13-512-256-64-16}, 26 tables, {@code 367-512-256-1}.
 */
public final class ModelConfig {
    private final int tables;
    private final int[] bottom;
    private final int[] top;

    private ModelConfig(int tables, int[] bottom, int[] top) {
        this.tables = tables;
        this.bottom = bottom;
        this.top = top;
    }

    /** The Criteo Kaggle shape of DLRM's reference run. */
    public static ModelConfig kaggle() {
        return of(26, new int[] {13, 512, 256, 64, 16}, new int[] {367, 512, 256, 1});
    }

    /**
     * A model of {@code tables} embedding tables with the given MLP widths (input first).
     *
     * @throws IllegalArgumentException naming the setting that is inconsistent
     */
    public static ModelConfig of(int tables, int[] bottom, int[] top) {
        if (tables < 1) {
            throw new IllegalArgumentException("tables must be at least 1, got " + tables);
        }
        checkWidths("bottom MLP", bottom);
        checkWidths("top MLP", top);
        int dim = bottom[bottom.length - 1];
        int vectors = tables + 1;
        int expected = dim + vectors * (vectors - 1) / 2;
        if (top[0] != expected) {
            throw new IllegalArgumentException("top MLP input width must be " + expected + " = dim " + dim
                    + " + " + (expected - dim) + " pairwise dots of " + vectors + " vectors (" + tables
                    + " tables + the bottom output), got " + top[0] + "; set the top MLP to "
                    + expected + "-...-1");
        }
        if (top[top.length - 1] != 1) {
            throw new IllegalArgumentException("top MLP must end in width 1 (one logit), got "
                    + top[top.length - 1] + "; set the top MLP's last width to 1");
        }
        return new ModelConfig(tables, bottom.clone(), top.clone());
    }

    /**
     * A model from DLRM's command-line notation: {@code --arch-mlp-bot 13-512-256-64-16} (input
     * first) and {@code --arch-mlp-top 512-256-1} (without the input width, which DLRM computes
     * from the interaction, as here).
     *
     * @throws IllegalArgumentException naming the option that is malformed or inconsistent
     */
    public static ModelConfig dlrm(int tables, String archMlpBot, String archMlpTop) {
        int[] bottom = parseWidths("--arch-mlp-bot", archMlpBot);
        int[] hidden = parseWidths("--arch-mlp-top", archMlpTop);
        int[] top = new int[hidden.length + 1];
        top[0] = topInputWidth(tables, bottom[bottom.length - 1]);
        System.arraycopy(hidden, 0, top, 1, hidden.length);
        return of(tables, bottom, top);
    }

    /**
     * Parses DLRM's dash notation ({@code "13-512-256-64-16"}) for an MLP.
     *
     * @throws IllegalArgumentException naming {@code setting} when the text is malformed
     */
    public static int[] parseWidths(String setting, String text) {
        String[] parts = text.trim().split("-");
        int[] widths = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                widths[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(setting + " must be widths joined by '-' such as 13-512-256-64-16, got '"
                        + text + "'", e);
            }
        }
        return widths;
    }

    /** The top MLP input width a model of {@code tables} tables and dimension {@code dim} needs. */
    public static int topInputWidth(int tables, int dim) {
        int vectors = tables + 1;
        return dim + vectors * (vectors - 1) / 2;
    }

    private static void checkWidths(String name, int[] widths) {
        if (widths == null || widths.length < 2) {
            throw new IllegalArgumentException(name + " needs at least two widths (input and output), got "
                    + Arrays.toString(widths));
        }
        for (int w : widths) {
            if (w < 1) {
                throw new IllegalArgumentException(name + " widths must be positive, got " + Arrays.toString(widths));
            }
        }
    }

    public int denseFeatures() {
        return bottom[0];
    }

    public int tables() {
        return tables;
    }

    /** The embedding dimension, which is also the bottom MLP's output width. */
    public int dim() {
        return bottom[bottom.length - 1];
    }

    /** Vectors that meet in the interaction: the bottom output and one pooled vector per table. */
    public int interactionVectors() {
        return tables + 1;
    }

    /** Pairwise dots without self terms: {@code n(n-1)/2}. */
    public int interactionPairs() {
        int n = interactionVectors();
        return n * (n - 1) / 2;
    }

    public int topInput() {
        return top[0];
    }

    /** The bottom MLP widths, input first (a copy). */
    public int[] bottom() {
        return bottom.clone();
    }

    /** The top MLP widths, input first (a copy). */
    public int[] top() {
        return top.clone();
    }

    /** Linear layers in the bottom MLP. */
    public int bottomLayers() {
        return bottom.length - 1;
    }

    /** Linear layers in the top MLP. */
    public int topLayers() {
        return top.length - 1;
    }

    /** Linear layers in all: bottom ones first, then top ones. */
    public int layers() {
        return bottomLayers() + topLayers();
    }

    /** Input width of layer {@code l} (bottom layers first, then top). */
    public int inputWidth(int l) {
        return l < bottomLayers() ? bottom[l] : top[l - bottomLayers()];
    }

    /** Output width of layer {@code l} (bottom layers first, then top). */
    public int outputWidth(int l) {
        return l < bottomLayers() ? bottom[l + 1] : top[l - bottomLayers() + 1];
    }

    /** Whether layer {@code l} is followed by a ReLU: every layer but the last top one. */
    public boolean relu(int l) {
        return l != layers() - 1;
    }

    /** The widest activation of any layer, input or output. */
    public int maxWidth() {
        int w = 0;
        for (int b : bottom) {
            w = Math.max(w, b);
        }
        for (int t : top) {
            w = Math.max(w, t);
        }
        return w;
    }

    /** DLRM's notation: {@code tables=26 bottom=13-512-256-64-16 top=367-512-256-1}. */
    @Override
    public String toString() {
        return "tables=" + tables + " bottom=" + join(bottom) + " top=" + join(top);
    }

    private static String join(int[] widths) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < widths.length; i++) {
            sb.append(i == 0 ? "" : "-").append(widths[i]);
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelConfig && ((ModelConfig) o).tables == tables
                && Arrays.equals(((ModelConfig) o).bottom, bottom) && Arrays.equals(((ModelConfig) o).top, top);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * tables + Arrays.hashCode(bottom)) + Arrays.hashCode(top);
    }
}

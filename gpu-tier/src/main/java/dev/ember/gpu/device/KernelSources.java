package dev.ember.gpu.device;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** Ember's kernel sources, shipped by module {@code native} under {@code dev/ember/kernels}. */
public final class KernelSources {
    /** Kernels every backend provides, by name. */
    public static final String GATHER_F4 = "ember_gather_f4";
    public static final String GATHER_F1 = "ember_gather_f1";
    public static final String APPLY_SGD = "ember_apply_sgd";
    public static final String APPLY_ROWWISE_ADAGRAD = "ember_apply_rowwise_adagrad";
    public static final String APPLY_ADAGRAD = "ember_apply_adagrad";
    public static final String WRITE_ROWS = "ember_write_rows";
    public static final String READ_ROWS = "ember_read_rows";
    public static final String SET_DIRTY = "ember_set_dirty";
    public static final String MOVE_SLOTS = "ember_move_slots";
    public static final String INIT_ROWS = "ember_init_rows";

    private KernelSources() {
    }

    /**
     * Threads a gather of {@code bags} bags with {@code lanesPerBag} lanes needs: one group of
     * lanes per bag. (Four bags per group, walked in step for more loads in flight, measured
     * slower on an H200: 75% of copy bandwidth against 79% at dim 64.)
     */
    public static long gatherThreads(int bags, int lanesPerBag) {
        return (long) bags * lanesPerBag;
    }

    /** The text of {@code dev/ember/kernels/<file>}. */
    public static String load(String file) {
        String path = "dev/ember/kernels/" + file;
        try (InputStream in = KernelSources.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("kernel source " + path + " is not on the class path (module ember-native)");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading kernel source " + path, e);
        }
    }
}

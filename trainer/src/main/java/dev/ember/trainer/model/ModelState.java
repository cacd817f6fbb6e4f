package dev.ember.trainer.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32;

/**
 * A host copy of everything dense a run needs to resume: the MLP weights, the dense optimizer
 * and its state, and how many updates were applied. {@link #toBytes()} is the opaque blob the
 * store's checkpoint keeps; {@link #fromBytes(byte[])} gives back the same bits.
 *
 * <pre>
 * blob, little-endian:
 *  "EMBRDLRM" | int version=1 | int tables | int nb | nb ints bottom | int nt | nt ints top
 *  | int optimizer (0 SGD, 1 ADAGRAD) | float lr | float eps | long updates
 *  | int P | P floats params | int S | S floats state (S = P for Adagrad, 0 for SGD) | int crc32
 * params and state are laid out by {@link ParameterLayout}.
 * </pre>
 */
public final class ModelState {
    private static final byte[] MAGIC = "EMBRDLRM".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;

    private final ModelConfig config;
    private final OptimizerSettings optimizer;
    private final long updates;
    private final float[] parameters;
    private final float[] optimizerState;

    /**
     * @param parameters     laid out by {@link ParameterLayout} (kept, not copied)
     * @param optimizerState same layout for Adagrad, empty for SGD (kept, not copied)
     */
    public ModelState(ModelConfig config, OptimizerSettings optimizer, long updates, float[] parameters,
                      float[] optimizerState) {
        int size = new ParameterLayout(config).size();
        if (parameters.length != size) {
            throw new IllegalArgumentException("model " + config + " has " + size + " parameters, got " + parameters.length);
        }
        int stateSize = optimizer.kind().hasState() ? size : 0;
        if (optimizerState.length != stateSize) {
            throw new IllegalArgumentException(optimizer.kind() + " keeps " + stateSize + " floats of state, got "
                    + optimizerState.length);
        }
        this.config = config;
        this.optimizer = optimizer;
        this.updates = updates;
        this.parameters = parameters;
        this.optimizerState = optimizerState;
    }

    /** The state of a fresh model: DLRM's initial weights from {@code seed}, zero optimizer state. */
    public static ModelState initial(ModelConfig config, OptimizerSettings optimizer, long seed) {
        ParameterLayout layout = new ParameterLayout(config);
        float[] state = new float[optimizer.kind().hasState() ? layout.size() : 0];
        return new ModelState(config, optimizer, 0, MlpInit.parameters(layout, seed), state);
    }

    public ModelConfig config() {
        return config;
    }

    public OptimizerSettings optimizer() {
        return optimizer;
    }

    /** Optimizer updates applied since initialisation. */
    public long updates() {
        return updates;
    }

    /** The weights, laid out by {@link ParameterLayout} (the array itself). */
    public float[] parameters() {
        return parameters;
    }

    /** The optimizer state, same layout, empty for SGD (the array itself). */
    public float[] optimizerState() {
        return optimizerState;
    }

    /** The blob for the store's checkpoint. */
    public byte[] toBytes() {
        int[] bottom = config.bottom();
        int[] top = config.top();
        int length = MAGIC.length + 4 * (4 + bottom.length + top.length) + 4 + 8 + 8
                + 4 + 4 * parameters.length + 4 + 4 * optimizerState.length + 4;
        ByteBuffer out = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).putInt(VERSION).putInt(config.tables());
        out.putInt(bottom.length);
        for (int w : bottom) {
            out.putInt(w);
        }
        out.putInt(top.length);
        for (int w : top) {
            out.putInt(w);
        }
        out.putInt(optimizer.kind().ordinal()).putFloat(optimizer.learningRate()).putFloat(optimizer.epsilon());
        out.putLong(updates);
        out.putInt(parameters.length);
        out.asFloatBuffer().put(parameters);
        out.position(out.position() + 4 * parameters.length);
        out.putInt(optimizerState.length);
        out.asFloatBuffer().put(optimizerState);
        out.position(out.position() + 4 * optimizerState.length);
        CRC32 crc = new CRC32();
        crc.update(out.array(), 0, out.position());
        out.putInt((int) crc.getValue());
        return out.array();
    }

    /**
     * Reads a blob written by {@link #toBytes()}.
     *
     * @throws IllegalArgumentException if the blob is not one, is truncated or corrupt
     */
    public static ModelState fromBytes(byte[] blob) {
        ByteBuffer in = ByteBuffer.wrap(blob).order(ByteOrder.LITTLE_ENDIAN);
        try {
            byte[] magic = new byte[MAGIC.length];
            in.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new IllegalArgumentException("not a DLRM dense model blob (bad magic)");
            }
            if (blob.length < MAGIC.length + 8) {
                throw new IllegalArgumentException("DLRM model blob truncated: " + blob.length + " bytes");
            }
            CRC32 crc = new CRC32();
            crc.update(blob, 0, blob.length - 4);
            int stored = ByteBuffer.wrap(blob, blob.length - 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
            if ((int) crc.getValue() != stored) {
                throw new IllegalArgumentException("DLRM model blob is corrupt (CRC32 mismatch over " + blob.length + " bytes)");
            }
            int version = in.getInt();
            if (version != VERSION) {
                throw new IllegalArgumentException("DLRM model blob version " + version + " is not supported (this build reads "
                        + VERSION + ")");
            }
            int tables = in.getInt();
            int[] bottom = readInts(in);
            int[] top = readInts(in);
            int kind = in.getInt();
            DenseOptimizer[] kinds = DenseOptimizer.values();
            if (kind < 0 || kind >= kinds.length) {
                throw new IllegalArgumentException("DLRM model blob names unknown optimizer " + kind);
            }
            OptimizerSettings optimizer = new OptimizerSettings(kinds[kind], in.getFloat(), in.getFloat());
            long updates = in.getLong();
            float[] params = readFloats(in);
            float[] state = readFloats(in);
            return new ModelState(ModelConfig.of(tables, bottom, top), optimizer, updates, params, state);
        } catch (java.nio.BufferUnderflowException | NegativeArraySizeException e) {
            throw new IllegalArgumentException("DLRM model blob truncated: " + blob.length + " bytes", e);
        }
    }

    private static int[] readInts(ByteBuffer in) {
        int[] v = new int[in.getInt()];
        for (int i = 0; i < v.length; i++) {
            v[i] = in.getInt();
        }
        return v;
    }

    private static float[] readFloats(ByteBuffer in) {
        int n = in.getInt();
        if (n < 0 || 4L * n > in.remaining()) {
            throw new IllegalArgumentException("DLRM model blob truncated: " + n + " floats announced, "
                    + in.remaining() + " bytes left");
        }
        float[] v = new float[n];
        in.asFloatBuffer().get(v);
        in.position(in.position() + 4 * n);
        return v;
    }
}

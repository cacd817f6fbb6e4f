package dev.ember.gpu.pool;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.RowLayout;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

/**
 * The plain fp32 reference: rows in a HashMap, the arithmetic of {@link Optimizer}'s Javadoc
 * written out in the same order. Every backend must match it bit for bit.
 */
final class ReferenceTier {
    final RowLayout layout;
    final Map<Long, float[]> rows = new HashMap<>();
    final Map<Long, Boolean> dirty = new HashMap<>();

    ReferenceTier(RowLayout layout) {
        this.layout = layout;
    }

    void put(long row, float[] values) {
        rows.put(row, values.clone());
        dirty.put(row, false);
    }

    void remove(long row) {
        rows.remove(row);
        dirty.remove(row);
    }

    float[] gather(PooledBatch batch) {
        int dim = layout.dim();
        float[] out = new float[batch.bagCount() * dim];
        for (int b = 0; b < batch.bagCount(); b++) {
            for (int c = 0; c < dim; c++) {
                float acc = 0.0f;
                for (int i = batch.offsets()[b]; i < batch.offsets()[b + 1]; i++) {
                    acc = acc + rows.get(batch.id(i))[c];
                }
                out[b * dim + c] = acc;
            }
        }
        return out;
    }

    void apply(DedupedIds dedup, float[] grads, float lr, float eps) {
        int dim = layout.dim();
        float[] g = new float[dim];
        for (int u = 0; u < dedup.uniqueCount(); u++) {
            float[] w = rows.get(dedup.unique()[u]);
            for (int c = 0; c < dim; c++) {
                float sum = 0.0f;
                for (int k = dedup.occStart()[u]; k < dedup.occStart()[u + 1]; k++) {
                    sum = sum + grads[dedup.occBag()[k] * dim + c];
                }
                g[c] = sum;
            }
            switch (layout.optimizer()) {
                case SGD:
                    for (int c = 0; c < dim; c++) {
                        w[c] = w[c] - (lr * g[c]);
                    }
                    break;
                case ROWWISE_ADAGRAD: {
                    float s = 0.0f;
                    for (int c = 0; c < dim; c++) {
                        s = s + (g[c] * g[c]);
                    }
                    float a = w[dim] + (s / dim);
                    w[dim] = a;
                    float d = (float) Math.sqrt(a) + eps;
                    for (int c = 0; c < dim; c++) {
                        w[c] = w[c] - ((lr * g[c]) / d);
                    }
                    break;
                }
                case ADAGRAD:
                    for (int c = 0; c < dim; c++) {
                        float a = w[dim + c] + (g[c] * g[c]);
                        w[dim + c] = a;
                        w[c] = w[c] - ((lr * g[c]) / ((float) Math.sqrt(a) + eps));
                    }
                    break;
                default:
                    throw new AssertionError();
            }
            dirty.put(dedup.unique()[u], true);
        }
    }

    /** The rows packed as the hot tier takes them (little-endian fp32). */
    ByteBuffer pack(long[] ids, int count) {
        int fpr = layout.floatsPerRow();
        ByteBuffer b = ByteBuffer.allocateDirect(Math.max(1, count * layout.bytesPerRow())).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) {
            float[] r = rows.get(ids[i]);
            for (int c = 0; c < fpr; c++) {
                b.putFloat((i * fpr + c) * 4, r[c]);
            }
        }
        return b;
    }

    static float[] unpack(ByteBuffer b, int index, RowLayout layout) {
        int fpr = layout.floatsPerRow();
        ByteBuffer le = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] r = new float[fpr];
        for (int c = 0; c < fpr; c++) {
            r[c] = le.getFloat((index * fpr + c) * 4);
        }
        return r;
    }
}

package dev.ember.jmh.model;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.table.RowLayout;
import dev.ember.cache.table.TableSpec;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceBuffer;
import dev.ember.gpu.device.Stream;
import dev.ember.gpu.pool.SlotBatch;
import dev.ember.gpu.pool.SlotPool;

import java.util.List;

/**
 * Every embedding row resident on the device ({@code device} mode: a {@link SlotPool} with one
 * resident table per feature, identity map) and handed to the dense model there, with no host
 * round trip of pooled vectors or gradients. {@link #gather} pools each table into its own
 * {@link SlotBatch} and copies the result device-to-device to the table's place in the dense
 * model's embedding input; {@link #apply} copies the table's slice of the model's embedding
 * gradients into the SlotBatch and applies it. The host only translates ids to slots and uploads
 * them (the pool's own work). One SlotBatch per table, so a table's staging is never rewritten
 * while the device may still read it (reusing one would make every gather wait for the last).
 *
 * <pre>
 *  input, gradOutput (the dense model's): [tables][maxBatch][dim] floats, table t from byte 4 * t * maxBatch * dim
 *  SlotBatch t: pooled    [maxBatch][dim]  --copy-->  input[t][0 .. batch)
 *               gradients [maxBatch][dim]  <--copy--  gradOutput[t][0 .. batch)
 * </pre>
 * Everything runs on the pool's compute stream, which must be the dense model's stream: stream
 * order is what makes the model read a gather's result and the pool apply the model's gradients.
 */
final class DeviceEmbeddings implements AutoCloseable {
    private final Device device;
    private final SlotPool pool;
    private final Stream stream;
    private final int[] handles;
    private final SlotBatch[] batches;
    private final DeviceBuffer input;
    private final DeviceBuffer gradOutput;
    private final int maxBatch;
    private final long tableBytes;
    private final long rowBytes;

    /**
     * @param specs      the tables, all of one layout; table {@code t} starts at RowInit's rows for {@code (seed, t)}
     * @param input      the dense model's pooled-embedding input on {@code stream}'s device
     * @param gradOutput the dense model's pooled-embedding gradients, same layout
     */
    DeviceEmbeddings(Device device, Stream stream, List<TableSpec> specs, long seed, int maxBatch, DeviceBuffer input,
                     DeviceBuffer gradOutput) {
        if (specs.isEmpty()) {
            throw new IllegalArgumentException("no tables");
        }
        RowLayout layout = specs.get(0).layout();
        int dim = layout.dim();
        long need = 4L * specs.size() * maxBatch * dim;
        if (input.bytes() < need || gradOutput.bytes() < need) {
            throw new IllegalArgumentException(specs.size() + " tables x " + maxBatch + " samples x dim " + dim + " need "
                    + need + " bytes; the embedding input has " + input.bytes() + ", the gradient output "
                    + gradOutput.bytes() + " (build the dense model with the same tables and maxBatch)");
        }
        long rows = 0;
        for (TableSpec s : specs) {
            rows += s.rows();
        }
        if (device.defaultStream() != stream) {
            throw new IllegalArgumentException("the hot tier computes on the device's default stream but the dense model on "
                    + stream + "; both must use the default stream");
        }
        this.device = device;
        this.stream = stream;
        this.input = input;
        this.gradOutput = gradOutput;
        this.maxBatch = maxBatch;
        this.rowBytes = 4L * dim;
        this.tableBytes = rowBytes * maxBatch;
        // Exactly the resident rows; one map thread: resident tables never map rows.
        pool = new SlotPool(device, layout, rows * (layout.bytesPerRow() + 1L), 1);
        handles = new int[specs.size()];
        batches = new SlotBatch[specs.size()];
        try {
            for (int t = 0; t < specs.size(); t++) {
                handles[t] = pool.addResidentTable(specs.get(t), seed, t);
                batches[t] = (SlotBatch) pool.newBatch(maxBatch, maxBatch);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    SlotPool pool() {
        return pool;
    }

    /** Pools the prepared batch's lookups of every table into the dense model's embedding input (queued, not waited for). */
    void gather(KaggleStepBatches data) {
        for (int t = 0; t < handles.length; t++) {
            PooledBatch b = data.pooled(t);
            checkBags(b.bagCount());
            pool.gather(handles[t], b, batches[t]);
            device.copy(batches[t].pooled(), 0, input, t * tableBytes, rowBytes * b.bagCount(), stream);
        }
    }

    /** Applies the dense model's embedding gradients of the prepared batch to every table (queued, not waited for). */
    void apply(KaggleStepBatches data, float lr) {
        int bags = data.batch();
        checkBags(bags);
        for (int t = 0; t < handles.length; t++) {
            DedupedIds d = data.dedup(t);
            device.copy(gradOutput, t * tableBytes, batches[t].gradients(), 0, rowBytes * bags, stream);
            pool.apply(handles[t], d, batches[t], lr, 0f);
        }
    }

    private void checkBags(int bags) {
        if (bags > maxBatch) {
            throw new IllegalArgumentException("batch of " + bags + " samples exceeds maxBatch " + maxBatch);
        }
    }

    @Override
    public void close() {
        for (SlotBatch b : batches) {
            if (b != null) {
                b.close();
            }
        }
        pool.close();
    }
}

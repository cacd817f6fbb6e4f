package dev.ember.jmh.model;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.table.RowInit;
import dev.ember.cache.table.TableSpec;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceBuffer;
import dev.ember.gpu.device.HostDevice;
import dev.ember.gpu.device.PinnedBuffer;
import dev.ember.gpu.device.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The device hand-off of the step benchmark on the host backend (the same SlotPool code and kernel
 * arithmetic as the GPUs): a gather lands at each table's offset of the dense model's input, and
 * apply takes each table's slice of its gradients, against a plain reference built from RowInit.
 */
class DeviceEmbeddingsTest {
    private static final long SEED = 5;
    private static final int BATCH = 64;
    /** Larger than the batch: the model's input is laid out by maxBatch, not by the batch. */
    private static final int MAX_BATCH = 80;
    private static final int DIM = KaggleStepBatches.DIM;

    private Device device;
    private Stream stream;
    private KaggleStepBatches data;
    private DeviceBuffer input;
    private DeviceBuffer gradOutput;
    private PinnedBuffer stage;
    private DeviceEmbeddings embeddings;
    private int tables;
    private long tableFloats;

    @BeforeEach
    void setUp() {
        device = new HostDevice();
        stream = device.defaultStream();
        // Small tables, so some ids repeat within a batch and apply sums several bags per row.
        data = new KaggleStepBatches(BATCH, 2, 2e-4, 11);
        tables = data.tables();
        tableFloats = (long) MAX_BATCH * DIM;
        long bytes = 4L * tables * tableFloats;
        input = device.allocate(bytes);
        gradOutput = device.allocate(bytes);
        stage = device.allocatePinned(bytes);
        device.fill(input, 0, bytes, (byte) 0, stream);
        embeddings = new DeviceEmbeddings(device, stream, data.specs(), SEED, MAX_BATCH, input, gradOutput);
    }

    @AfterEach
    void tearDown() {
        embeddings.close();
        stage.close();
        input.close();
        gradOutput.close();
        device.close();
    }

    @Test
    void gatherPutsEachTableAtItsOffsetOfTheInput() {
        data.prepare(1);
        embeddings.gather(data);
        FloatBuffer in = readBack(input);
        for (int t = 0; t < tables; t++) {
            TableSpec spec = data.specs().get(t);
            float scale = RowInit.scale(spec.rows());
            PooledBatch pb = data.pooled(t);
            for (int r = 0; r < MAX_BATCH; r++) {
                for (int c = 0; c < DIM; c++) {
                    float want = r < BATCH ? RowInit.weight(SEED, t, pb.id(r), c, scale) : 0f;
                    assertEquals(want, in.get((int) (t * tableFloats + (long) r * DIM + c)),
                            "table " + t + " sample " + r + " column " + c);
                }
            }
        }
    }

    @Test
    void applyTakesEachTablesSliceOfTheGradients() {
        data.prepare(0);
        SplittableRandom rnd = new SplittableRandom(3);
        FloatBuffer g = stage.buffer().asFloatBuffer();
        float[] grads = new float[(int) (tables * tableFloats)];
        for (int i = 0; i < grads.length; i++) {
            grads[i] = (float) (rnd.nextDouble() * 2 - 1);
            g.put(i, grads[i]);
        }
        device.copyToDevice(stage, 0, gradOutput, 0, 4L * grads.length, stream);
        float lr = 0.25f;
        embeddings.apply(data, lr);
        stream.synchronize();
        for (int t = 0; t < tables; t++) {
            TableSpec spec = data.specs().get(t);
            float scale = RowInit.scale(spec.rows());
            DedupedIds d = data.dedup(t);
            int uniques = d.uniqueCount();
            long[] rows = java.util.Arrays.copyOf(d.unique(), uniques);
            ByteBuffer got = ByteBuffer.allocateDirect(4 * DIM * uniques).order(ByteOrder.LITTLE_ENDIAN);
            embeddings.pool().read(t, rows, uniques, got, null);
            for (int u = 0; u < uniques; u++) {
                for (int c = 0; c < DIM; c++) {
                    // The reference: the bags' gradients summed in DedupedIds' order, then one SGD step.
                    float sum = 0f;
                    for (int k = d.occStart()[u]; k < d.occStart()[u + 1]; k++) {
                        sum += grads[(int) (t * tableFloats + (long) d.occBag()[k] * DIM + c)];
                    }
                    float want = RowInit.weight(SEED, t, rows[u], c, scale) - lr * sum;
                    assertEquals(want, got.getFloat(4 * (u * DIM + c)), "table " + t + " row " + rows[u] + " column " + c);
                }
            }
        }
    }

    @Test
    void aModelInputTooSmallIsAnErrorThatNamesTheSizes() {
        try (DeviceBuffer small = device.allocate(4L * DIM)) {
            List<TableSpec> specs = data.specs();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new DeviceEmbeddings(device, stream, specs, SEED, MAX_BATCH, small, gradOutput));
            assertEquals(true, e.getMessage().contains("26 tables x 80 samples x dim 16"), e.getMessage());
        }
    }

    private FloatBuffer readBack(DeviceBuffer b) {
        device.copyToHost(b, 0, stage, 0, b.bytes(), stream);
        stream.synchronize();
        return stage.buffer().asFloatBuffer();
    }
}

package dev.ember.trainer.train;

import dev.ember.cache.hot.HotBatch;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceBuffer;
import dev.ember.gpu.pool.SlotBatch;
import dev.ember.gpu.pool.SlotPool;
import dev.ember.trainer.model.cuda.CudaDenseBackend;

/**
 * Pooled vectors and their gradients passed between the hot tier's batch buffers and the CUDA
 * dense backend on the device, queued on the one stream both use, so a step moves no embedding
 * bytes through the host and waits for nothing.
 *
 * <pre>
 *  SlotBatch.pooled    [t][bagStride][dim]  ──copy──▶  embeddingInput          [t][maxBatch][dim]
 *  SlotBatch.gradients [t][bagStride][dim]  ◀──copy──  embeddingGradientOutput [t][maxBatch][dim]
 * </pre>
 *
 * When the strides match (the trainer sizes both from the batch size) all tables go in one copy
 * each way, padding bags included (about 3.4 MiB at 26 tables, batch 2048, dim 16: a few us of
 * device time); otherwise one copy per table. Why copies and not a gather straight into the
 * dense input: they keep the hot tier's batch buffers its own, so every other caller of the
 * tier stays as it is.
 */
final class DeviceHandoff {
    private final Device device;
    private final CudaDenseBackend dense;
    private final long tableBytes;
    private final int dim;
    private final int tables;

    DeviceHandoff(Device device, SlotPool pool, CudaDenseBackend dense) {
        if (pool.computeStream() != dense.stream()) {
            throw new IllegalArgumentException("the hot tier and the dense backend must share one stream (one device)");
        }
        this.device = device;
        this.dense = dense;
        this.dim = dense.config().dim();
        this.tables = dense.config().tables();
        this.tableBytes = 4L * dense.maxBatch() * dim;
    }

    /** Queues the copy of every table's pooled bags into the dense input (after the tier's gather). */
    void pooledIn(HotBatch from, int bagStride, int bags) {
        DeviceBuffer src = ((SlotBatch) from).pooled();
        if (bagStride == dense.maxBatch()) {
            device.copy(src, 0, dense.embeddingInput(), 0, tables * tableBytes, dense.stream());
            return;
        }
        for (int t = 0; t < tables; t++) {
            device.copy(src, 4L * t * bagStride * dim, dense.embeddingInput(), t * tableBytes, 4L * bags * dim, dense.stream());
        }
    }

    /** Queues the copy of every table's pooled-vector gradients into the tier's batch (before its apply). */
    void gradientsOut(HotBatch to, int bagStride, int bags) {
        DeviceBuffer dst = ((SlotBatch) to).gradients();
        if (bagStride == dense.maxBatch()) {
            device.copy(dense.embeddingGradientOutput(), 0, dst, 0, tables * tableBytes, dense.stream());
            return;
        }
        for (int t = 0; t < tables; t++) {
            device.copy(dense.embeddingGradientOutput(), t * tableBytes, dst, 4L * t * bagStride * dim, 4L * bags * dim, dense.stream());
        }
    }
}

package dev.ember.trainer.train;

import dev.ember.cache.hot.HotBatch;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.pool.SlotBatch;
import dev.ember.gpu.pool.SlotPool;
import dev.ember.trainer.model.cuda.CudaDenseBackend;

/**
 * Pooled vectors and their gradients passed between the hot tier's batch buffers and the CUDA
 * dense backend on the device: one device-to-device copy per table each way, queued on the one
 * stream both use, so a step moves no embedding bytes through the host and waits for nothing.
 *
 * <pre>
 *  SlotBatch.pooled (table t)    ──copy──▶  embeddingInput          [t][maxBatch][dim]
 *  SlotBatch.gradients (table t) ◀──copy──  embeddingGradientOutput [t][maxBatch][dim]
 * </pre>
 *
 * Why copies and not a gather straight into the dense input: the copies cost about 2 us of
 * device time a table (128 KiB at batch 2048, dim 16) and keep the hot tier's batch buffers its
 * own, so every other caller of the tier stays as it is.
 */
final class DeviceHandoff {
    private final Device device;
    private final CudaDenseBackend dense;
    private final long tableBytes;
    private final int dim;

    DeviceHandoff(Device device, SlotPool pool, CudaDenseBackend dense) {
        if (pool.computeStream() != dense.stream()) {
            throw new IllegalArgumentException("the hot tier and the dense backend must share one stream (one device)");
        }
        this.device = device;
        this.dense = dense;
        this.dim = dense.config().dim();
        this.tableBytes = 4L * dense.maxBatch() * dim;
    }

    /** Queues the copy of table {@code t}'s pooled bags into the dense input (after the tier's gather). */
    void pooledIn(int t, HotBatch from, int bags) {
        device.copy(((SlotBatch) from).pooled(), 0, dense.embeddingInput(), t * tableBytes, 4L * bags * dim, dense.stream());
    }

    /** Queues the copy of table {@code t}'s pooled-vector gradients into the tier's batch (before its apply). */
    void gradientsOut(int t, HotBatch to, int bags) {
        device.copy(dense.embeddingGradientOutput(), t * tableBytes, ((SlotBatch) to).gradients(), 0, 4L * bags * dim, dense.stream());
    }
}

package dev.ember.gpu.pool;

import dev.ember.cache.hot.HotBatch;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceBuffer;
import dev.ember.gpu.device.Event;
import dev.ember.gpu.device.PinnedBuffer;
import dev.ember.gpu.device.Stream;

import static dev.ember.gpu.device.UnsafeMemory.UNSAFE;

/**
 * A batch's buffers on the device and its pinned staging. The trainer reads {@link #pooled()}
 * and writes {@link #gradients()} directly on the device; tests go through the host copies.
 *
 * <pre>
 *  device: pooled    maxBags x dim floats      gradients maxBags x dim floats
 *          slots     maxIds ints               offsets   maxBags + 1 ints        (gather)
 *          uSlots    maxIds ints               occStart  maxIds + 1 ints
 *          occBag    maxIds ints                                               (apply)
 *  pinned: | gather: slots, offsets | apply: uSlots, occStart, occBag | io: maxBags x dim floats |
 * </pre>
 * Each pinned region has an event: it is rewritten only after its last upload finished.
 */
public final class SlotBatch implements HotBatch {
    private static final long FLOAT_BASE = UNSAFE.arrayBaseOffset(float[].class);

    final SlotPool pool;
    private final Device device;
    private final int maxBags;
    private final int maxIds;
    private final int dim;
    final DeviceBuffer pooled;
    final DeviceBuffer gradients;
    final DeviceBuffer slots;
    final DeviceBuffer offsets;
    final DeviceBuffer uniqueSlots;
    final DeviceBuffer occStart;
    final DeviceBuffer occBag;
    private final PinnedBuffer staging;
    final long gatherStage;
    final long applyStage;
    private final long ioStage;
    final Event gatherStaged;
    final Event applyStaged;
    private final Event ioStaged;
    private boolean closed;

    SlotBatch(SlotPool pool, Device device, int maxBags, int maxIds, int dim) {
        this.pool = pool;
        this.device = device;
        this.maxBags = maxBags;
        this.maxIds = maxIds;
        this.dim = dim;
        long gatherBytes = 4L * maxIds + 4L * (maxBags + 1);
        long applyBytes = 4L * maxIds + 4L * (maxIds + 1) + 4L * maxIds;
        long ioBytes = 4L * maxBags * dim;
        DeviceBuffer[] made = new DeviceBuffer[7];
        PinnedBuffer pinned = null;
        try {
            made[0] = device.allocate(Math.max(4, ioBytes));
            made[1] = device.allocate(Math.max(4, ioBytes));
            made[2] = device.allocate(4L * maxIds);
            made[3] = device.allocate(4L * (maxBags + 1));
            made[4] = device.allocate(4L * maxIds);
            made[5] = device.allocate(4L * (maxIds + 1));
            made[6] = device.allocate(4L * maxIds);
            pinned = device.allocatePinned(gatherBytes + applyBytes + Math.max(4, ioBytes));
        } catch (RuntimeException e) {
            for (DeviceBuffer b : made) {
                if (b != null) {
                    b.close();
                }
            }
            throw e;
        }
        pooled = made[0];
        gradients = made[1];
        slots = made[2];
        offsets = made[3];
        uniqueSlots = made[4];
        occStart = made[5];
        occBag = made[6];
        staging = pinned;
        gatherStage = staging.address();
        applyStage = gatherStage + gatherBytes;
        ioStage = applyStage + applyBytes;
        gatherStaged = device.newEvent();
        applyStaged = device.newEvent();
        ioStaged = device.newEvent();
    }

    @Override
    public int maxBags() {
        return maxBags;
    }

    @Override
    public int maxIds() {
        return maxIds;
    }

    @Override
    public int dim() {
        return dim;
    }

    /** The pooled rows on the device: {@code maxBags x dim} floats, bag-major. */
    public DeviceBuffer pooled() {
        return pooled;
    }

    /** The per-bag gradients on the device, same shape as {@link #pooled()}; apply reads them. */
    public DeviceBuffer gradients() {
        return gradients;
    }

    @Override
    public void readPooled(float[] dst, int firstBag, int bags) {
        checkBags(firstBag, bags, dst.length, "readPooled");
        long bytes = 4L * bags * dim;
        if (bytes == 0) {
            return;
        }
        Stream s = pool.computeStream();
        device.copyToHost(pooled, 4L * firstBag * dim, staging, ioStage - gatherStage, bytes, s);
        s.synchronize();
        UNSAFE.copyMemory(null, ioStage, dst, FLOAT_BASE, bytes);
    }

    @Override
    public void writeGradients(float[] src, int firstBag, int bags) {
        checkBags(firstBag, bags, src.length, "writeGradients");
        long bytes = 4L * bags * dim;
        if (bytes == 0) {
            return;
        }
        Stream s = pool.computeStream();
        ioStaged.synchronize();
        UNSAFE.copyMemory(src, FLOAT_BASE, null, ioStage, bytes);
        device.copyToDevice(staging, ioStage - gatherStage, gradients, 4L * firstBag * dim, bytes, s);
        ioStaged.record(s);
    }

    /** Before a gather's slots are staged: the staging's previous upload is done (any thread). */
    void awaitGatherStage() {
        gatherStaged.synchronize();
    }

    /** Before an apply's rows are staged: the staging's previous upload is done (any thread). */
    void awaitApplyStage() {
        applyStaged.synchronize();
    }

    /** Uploads {@code bytes} staged at {@code stageAddress} into {@code dst} on the compute stream. */
    void upload(long stageAddress, DeviceBuffer dst, long bytes, Stream s) {
        if (bytes > 0) {
            device.copyToDevice(staging, stageAddress - gatherStage, dst, 0, bytes, s);
        }
    }

    private void checkBags(int firstBag, int bags, int arrayLength, String what) {
        if (closed) {
            throw new IllegalStateException("batch used after close");
        }
        if (firstBag < 0 || bags < 0 || (long) firstBag + bags > maxBags) {
            throw new IllegalArgumentException(what + ": bags [" + firstBag + ", " + ((long) firstBag + bags)
                    + ") must lie in 0.." + maxBags + " (the batch's maxBags)");
        }
        if ((long) bags * dim > arrayLength) {
            throw new IllegalArgumentException(what + ": " + bags + " bags of dim " + dim + " need " + (long) bags * dim
                    + " floats, the array has " + arrayLength);
        }
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("batch used after close");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        device.synchronize();
        pooled.close();
        gradients.close();
        slots.close();
        offsets.close();
        uniqueSlots.close();
        occStart.close();
        occBag.close();
        staging.close();
        gatherStaged.close();
        applyStaged.close();
        ioStaged.close();
    }
}

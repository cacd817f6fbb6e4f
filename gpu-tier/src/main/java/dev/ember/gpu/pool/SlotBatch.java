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
    /** Whether the staging's last upload is known done (set by the first wait for it, cleared at each upload). */
    private volatile boolean gatherStageFree = true;
    private volatile boolean applyStageFree = true;
    private final Event ioStaged;
    private boolean closed;
    // Reserved-slot copies (TieredStore's staged misses), made with the batch (SlotPool.newBatch):
    //  device: rows maxIds x rowBytes | slots (identity from reservedBase) | from | to | flags
    //  pinned: | identity slots | from | to |
    DeviceBuffer reservedRows;
    DeviceBuffer reservedSlots;
    DeviceBuffer reservedFrom;
    DeviceBuffer reservedTo;
    DeviceBuffer reservedFlags;
    PinnedBuffer reservedStage;
    /** The first slot {@link #reservedSlots} counts from, -1 before the first upload. */
    long reservedBase = -1;
    Event reservedDone;
    Event copiesStaged;

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

    /** Allocates the reserved-slot buffers for rows of {@code rowBytes} (once). */
    void ensureReserved(int rowBytes) {
        if (reservedRows != null) {
            return;
        }
        DeviceBuffer[] made = new DeviceBuffer[5];
        try {
            made[0] = device.allocate((long) maxIds * rowBytes);
            made[1] = device.allocate(4L * maxIds);
            made[2] = device.allocate(4L * maxIds);
            made[3] = device.allocate(4L * maxIds);
            made[4] = device.allocate(maxIds);
            reservedStage = device.allocatePinned(12L * maxIds);
        } catch (RuntimeException e) {
            for (DeviceBuffer b : made) {
                if (b != null) {
                    b.close();
                }
            }
            throw e;
        }
        reservedRows = made[0];
        reservedSlots = made[1];
        reservedFrom = made[2];
        reservedTo = made[3];
        reservedFlags = made[4];
        reservedDone = device.newEvent();
        copiesStaged = device.newEvent();
    }

    /** Uploads the identity slots {@code base..base+maxIds} once for the reserved area at {@code base}. */
    void identitySlots(long base, Stream s) {
        if (reservedBase == base) {
            return;
        }
        s.synchronize(); // rare (once per area): the pinned slots may still be uploading
        for (int i = 0; i < maxIds; i++) {
            UNSAFE.putInt(reservedStage.address() + 4L * i, (int) (base + i));
        }
        device.copyToDevice(reservedStage, 0, reservedSlots, 0, 4L * maxIds, s);
        s.synchronize();
        reservedBase = base;
    }

    /**
     * Before a gather's slots are staged: the staging's previous upload is done (any thread). Once
     * per upload, not once per table: the tables of a batch are staged on several threads while
     * the step thread launches work, and each event call takes the driver's context lock.
     */
    void awaitGatherStage() {
        if (!gatherStageFree) {
            gatherStaged.synchronize();
            gatherStageFree = true;
        }
    }

    /** Before an apply's rows are staged: the staging's previous upload is done (any thread; once per upload). */
    void awaitApplyStage() {
        if (!applyStageFree) {
            applyStaged.synchronize();
            applyStageFree = true;
        }
    }

    /** The gather's staging is uploading (its event just recorded): the next staging waits for it. */
    void gatherStageUploading() {
        gatherStageFree = false;
    }

    /** The apply's staging is uploading (its event just recorded). */
    void applyStageUploading() {
        applyStageFree = false;
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
        if (reservedRows != null) {
            reservedRows.close();
            reservedSlots.close();
            reservedFrom.close();
            reservedTo.close();
            reservedFlags.close();
            reservedStage.close();
            reservedDone.close();
            copiesStaged.close();
        }
        gatherStaged.close();
        applyStaged.close();
        ioStaged.close();
    }
}

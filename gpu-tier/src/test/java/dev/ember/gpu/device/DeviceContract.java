package dev.ember.gpu.device;

import dev.ember.gpu.OnDeviceContract;
import dev.ember.cache.table.RowInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.ByteBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What every {@link Device} must do: copies, fills, kernel launches, stream ordering, errors. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class DeviceContract extends OnDeviceContract {

    @Test
    void copiesRoundTripThroughDeviceMemoryAtOffsets() {
        Random rnd = new Random(1);
        byte[] data = new byte[4096];
        rnd.nextBytes(data);
        try (PinnedBuffer in = device.allocatePinned(8192);
             PinnedBuffer out = device.allocatePinned(8192);
             DeviceBuffer a = device.allocate(8192);
             DeviceBuffer b = device.allocate(8192)) {
            in.buffer().put(100, data);
            Stream s = device.defaultStream();
            DeviceCalls.Counts before = device.calls().counts();
            device.copyToDevice(in, 100, a, 1000, 4096, s);
            device.copy(a, 1000, b, 3, 4096, s);
            device.copyToHost(b, 3, out, 7, 4096, s);
            s.synchronize();
            assertEquals(new DeviceCalls.Counts(0, 0, 3, 4096, 4096, 4096), device.calls().counts().since(before),
                    "each copy counted once, with its bytes");
            byte[] back = new byte[4096];
            out.buffer().get(7, back);
            assertTrue(java.util.Arrays.equals(data, back), "bytes survive host -> device -> device -> host");
        }
    }

    @Test
    void fillSetsEveryByteOfTheRange() {
        try (PinnedBuffer out = device.allocatePinned(300);
             DeviceBuffer a = device.allocate(300)) {
            Stream s = device.defaultStream();
            device.fill(a, 0, 300, (byte) 0, s);
            device.fill(a, 50, 200, (byte) 0x5A, s);
            device.copyToHost(a, 0, out, 0, 300, s);
            s.synchronize();
            ByteBuffer b = out.buffer();
            for (int i = 0; i < 300; i++) {
                assertEquals(i >= 50 && i < 250 ? 0x5A : 0, b.get(i) & 0xFF, "byte " + i);
            }
        }
    }

    @Test
    void gatherKernelLaunchedDirectlySumsBags() {
        int dim = 8;
        int rows = 64;
        Random rnd = new Random(2);
        float[] w = new float[rows * dim];
        for (int i = 0; i < w.length; i++) {
            w[i] = rnd.nextFloat() - 0.5f;
        }
        int[] slots = {3, 5, 3, 63, 0};
        int[] offsets = {0, 2, 2, 5};
        try (PinnedBuffer stage = device.allocatePinned(4096);
             DeviceBuffer dw = device.allocate(4L * w.length);
             DeviceBuffer ds = device.allocate(4L * slots.length);
             DeviceBuffer dofs = device.allocate(4L * offsets.length);
             DeviceBuffer dout = device.allocate(4L * 3 * dim)) {
            Stream s = device.defaultStream();
            ByteBuffer b = stage.buffer();
            b.asFloatBuffer().put(w);
            device.copyToDevice(stage, 0, dw, 0, 4L * w.length, s);
            s.synchronize();
            b.asIntBuffer().put(slots).put(offsets);
            device.copyToDevice(stage, 0, ds, 0, 4L * slots.length, s);
            device.copyToDevice(stage, 4L * slots.length, dofs, 0, 4L * offsets.length, s);
            Kernel k = device.kernel(KernelSources.GATHER_F4);
            k.arg(0, dw).arg(1, dim).arg(2, ds).arg(3, dofs).arg(4, 3).arg(5, dout).arg(6, 2);
            long kernels = device.calls().kernels();
            k.launch(s, 1, 64);
            assertEquals(kernels + 1, device.calls().kernels(), "the launch counted");
            device.copyToHost(dout, 0, stage, 0, 4L * 3 * dim, s);
            s.synchronize();
            float[] got = new float[3 * dim];
            stage.buffer().asFloatBuffer().get(got);
            for (int bag = 0; bag < 3; bag++) {
                for (int c = 0; c < dim; c++) {
                    float acc = 0.0f;
                    for (int i = offsets[bag]; i < offsets[bag + 1]; i++) {
                        acc = acc + w[slots[i] * dim + c];
                    }
                    assertEquals(Float.floatToRawIntBits(acc), Float.floatToRawIntBits(got[bag * dim + c]), "bag " + bag + " col " + c);
                }
            }
        }
    }

    @Test
    void initRowsKernelReproducesRowInitBitForBit() {
        int dim = 5;
        int state = 1;
        long rows = 1000;
        long firstRow = 123_456_789_012L;
        float scale = RowInit.scale(1L << 40);
        try (PinnedBuffer stage = device.allocatePinned(4L * rows * (dim + state) + rows);
             DeviceBuffer w = device.allocate(4L * rows * dim);
             DeviceBuffer st = device.allocate(4L * rows * state);
             DeviceBuffer dirty = device.allocate(rows)) {
            Stream s = device.defaultStream();
            device.fill(st, 0, 4L * rows, (byte) 0x7F, s);
            Kernel k = device.kernel(KernelSources.INIT_ROWS);
            k.arg(0, w).arg(1, st).arg(2, dirty).arg(3, dim).arg(4, state).arg(5, 0L).arg(6, firstRow).arg(7, rows)
                    .arg(8, -7L).arg(9, 25).arg(10, scale);
            k.launch(s, (int) ((rows * (dim + state) + 255) / 256), 256);
            device.copyToHost(w, 0, stage, 0, 4L * rows * dim, s);
            device.copyToHost(st, 0, stage, 4L * rows * dim, 4L * rows, s);
            s.synchronize();
            ByteBuffer b = stage.buffer();
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < dim; c++) {
                    float want = RowInit.weight(-7L, 25, firstRow + r, c, scale);
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(b.getFloat(4 * (r * dim + c))),
                            "row " + (firstRow + r) + " col " + c);
                }
                assertEquals(0, b.getInt((int) (4L * rows * dim + 4L * r)), "state starts at zero");
            }
        }
    }

    @Test
    void anEventOrdersWorkAcrossStreams() {
        int n = 1 << 20;
        try (PinnedBuffer stage = device.allocatePinned(4L * n);
             DeviceBuffer a = device.allocate(4L * n);
             DeviceBuffer b = device.allocate(4L * n);
             Stream other = device.newStream();
             Event done = device.newEvent()) {
            Stream s = device.defaultStream();
            device.fill(b, 0, 4L * n, (byte) 0, s);
            s.synchronize();
            for (int round = 1; round <= 3; round++) {
                device.fill(a, 0, 4L * n, (byte) round, s);
                done.record(s);
                other.waitFor(done);
                device.copy(a, 0, b, 0, 4L * n, other);
                device.copyToHost(b, 0, stage, 0, 4L * n, other);
                other.synchronize();
                ByteBuffer r = stage.buffer();
                for (int i = 0; i < 4 * n; i += 4093) {
                    assertEquals(round, r.get(i), "round " + round + " byte " + i);
                }
            }
        }
    }

    @Test
    void anEventSaysWhenItsWorkIsDoneWithoutWaiting() {
        int n = 1 << 22;
        try (PinnedBuffer stage = device.allocatePinned(4L * n);
             DeviceBuffer a = device.allocate(4L * n);
             Event done = device.newEvent()) {
            assertTrue(done.isDone(), "an event never recorded is done");
            Stream s = device.defaultStream();
            for (int round = 1; round <= 3; round++) {
                device.fill(a, 0, 4L * n, (byte) round, s);
                device.copyToHost(a, 0, stage, 0, 4L * n, s);
                done.record(s);
                boolean early = done.isDone(); // either answer, but asking must not wait or fail
                done.synchronize();
                assertTrue(done.isDone(), "done after synchronize (round " + round + ", done early: " + early + ")");
                assertEquals(round, stage.buffer().get(4 * n - 1));
            }
        }
    }

    @Test
    void memoryIsAccountedAndExhaustionIsAClearError() {
        long total = device.totalMemory();
        long free = device.freeMemory();
        assertTrue(total > 0 && free > 0 && free <= total, "free " + free + " of " + total);
        DeviceMemoryException e = assertThrows(DeviceMemoryException.class, () -> device.allocate(total + (1L << 30)));
        assertTrue(e.getMessage().contains("bytes"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> device.allocate(0));
    }

    @Test
    void badUseIsAClearError() {
        try (DeviceBuffer a = device.allocate(64);
             PinnedBuffer p = device.allocatePinned(64)) {
            assertThrows(IndexOutOfBoundsException.class, () -> device.copyToDevice(p, 0, a, 32, 64, device.defaultStream()));
            assertThrows(IndexOutOfBoundsException.class, () -> device.copyToHost(a, 0, p, 8, 64, device.defaultStream()));
            DeviceException k = assertThrows(DeviceException.class, () -> device.kernel("ember_no_such_kernel"));
            assertTrue(k.getMessage().contains("ember_no_such_kernel"), k.getMessage());
            Kernel g = device.kernel(KernelSources.GATHER_F1);
            assertThrows(IllegalArgumentException.class, () -> g.launch(device.defaultStream(), 1, 0));
        }
        DeviceBuffer closed = device.allocate(16);
        closed.close();
        try (PinnedBuffer p = device.allocatePinned(16)) {
            assertThrows(IllegalStateException.class, () -> device.copyToDevice(p, 0, closed, 0, 16, device.defaultStream()));
        }
    }
}

package dev.ember.gpu.device;

import static dev.ember.gpu.device.UnsafeMemory.UNSAFE;

/**
 * Ember's kernels as Java loops over host memory, for {@link HostDevice}. Each body does the
 * arithmetic of {@code ember.cu}/{@code ember.cl} in the same order (fp32, no fused multiply-add,
 * sums from 0 in the order given), so the host backend agrees with the others bit for bit.
 * The launch geometry is ignored: the loops cover the work the arguments describe.
 */
final class HostKernels {
    private HostKernels() {
    }

    /** A kernel body: reads its arguments from the launcher. */
    private interface Body {
        void run(Launcher a);
    }

    static final class Launcher implements Kernel {
        private final String name;
        private final Body body;
        private final Object[] buffers = new Object[16];
        private final long[] values = new long[16];
        private final float[] scratch = new float[dev.ember.cache.table.TableSpec.MAX_DIM];
        private final DeviceCalls calls;

        Launcher(String name, DeviceCalls calls) {
            this.name = name;
            this.body = body(name);
            this.calls = calls;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Kernel arg(int index, DeviceBuffer buffer) {
            buffers[index] = buffer;
            return this;
        }

        @Override
        public Kernel arg(int index, int value) {
            values[index] = value;
            return this;
        }

        @Override
        public Kernel arg(int index, long value) {
            values[index] = value;
            return this;
        }

        @Override
        public Kernel arg(int index, float value) {
            values[index] = Float.floatToRawIntBits(value);
            return this;
        }

        @Override
        public void launch(Stream stream, int groups, int groupSize) {
            if (groups < 0 || groupSize <= 0) {
                throw new IllegalArgumentException(name + ": bad launch geometry " + groups + " x " + groupSize);
            }
            calls.kernel();
            body.run(this);
        }

        long p(int i) {
            DeviceBuffer b = (DeviceBuffer) buffers[i];
            if (b == null) {
                throw new IllegalStateException(name + ": argument " + i + " (a buffer) was never set");
            }
            return HostDevice.address(b, 0, b.bytes());
        }

        int i(int i) {
            return (int) values[i];
        }

        long l(int i) {
            return values[i];
        }

        float f(int i) {
            return Float.intBitsToFloat((int) values[i]);
        }
    }

    private static Body body(String name) {
        switch (name) {
            case KernelSources.GATHER_F4:
            case KernelSources.GATHER_F1:
                return HostKernels::gather;
            case KernelSources.APPLY_SGD:
                return HostKernels::applySgd;
            case KernelSources.APPLY_ROWWISE_ADAGRAD:
                return HostKernels::applyRowwiseAdagrad;
            case KernelSources.APPLY_ADAGRAD:
                return HostKernels::applyAdagrad;
            case KernelSources.WRITE_ROWS:
                return HostKernels::writeRows;
            case KernelSources.READ_ROWS:
                return HostKernels::readRows;
            case KernelSources.SET_DIRTY:
                return HostKernels::setDirty;
            case KernelSources.MOVE_SLOTS:
                return HostKernels::moveSlots;
            case KernelSources.INIT_ROWS:
                return HostKernels::initRows;
            default:
                throw new DeviceException("no kernel named " + name + " in Ember's kernel set");
        }
    }

    private static float f(long address, long index) {
        return UNSAFE.getFloat(address + 4 * index);
    }

    private static void f(long address, long index, float v) {
        UNSAFE.putFloat(address + 4 * index, v);
    }

    private static int n(long address, long index) {
        return UNSAFE.getInt(address + 4 * index);
    }

    // (weights, dim, slots, offsets, bags, out, lanesPerBag)
    private static void gather(Launcher a) {
        long w = a.p(0), slots = a.p(2), offsets = a.p(3), out = a.p(5);
        int dim = a.i(1), bags = a.i(4);
        for (int b = 0; b < bags; b++) {
            int begin = n(offsets, b), end = n(offsets, b + 1);
            long o = (long) b * dim;
            for (int c = 0; c < dim; c++) {
                f(out, o + c, 0.0f);
            }
            for (int i = begin; i < end; i++) {
                long row = (long) n(slots, i) * dim;
                for (int c = 0; c < dim; c++) {
                    f(out, o + c, f(out, o + c) + f(w, row + c));
                }
            }
        }
    }

    private static float grad(long grad, int dim, long occBag, int k0, int k1, int c) {
        float g = 0.0f;
        for (int k = k0; k < k1; k++) {
            g = g + f(grad, (long) n(occBag, k) * dim + c);
        }
        return g;
    }

    // (weights, dirty, dim, uniqueSlots, occStart, occBag, uniques, grad, lr)
    private static void applySgd(Launcher a) {
        long w = a.p(0), dirty = a.p(1), us = a.p(3), os = a.p(4), ob = a.p(5), gr = a.p(7);
        int dim = a.i(2), uniques = a.i(6);
        float lr = a.f(8);
        for (int u = 0; u < uniques; u++) {
            int slot = n(us, u), k0 = n(os, u), k1 = n(os, u + 1);
            long row = (long) slot * dim;
            for (int c = 0; c < dim; c++) {
                float g = grad(gr, dim, ob, k0, k1, c);
                f(w, row + c, f(w, row + c) - lr * g);
            }
            UNSAFE.putByte(dirty + slot, (byte) 1);
        }
    }

    // (weights, state, dirty, dim, uniqueSlots, occStart, occBag, uniques, grad, lr, eps)
    private static void applyRowwiseAdagrad(Launcher a) {
        long w = a.p(0), st = a.p(1), dirty = a.p(2), us = a.p(4), os = a.p(5), ob = a.p(6), gr = a.p(8);
        int dim = a.i(3), uniques = a.i(7);
        float lr = a.f(9), eps = a.f(10);
        float[] g = a.scratch;
        for (int u = 0; u < uniques; u++) {
            int slot = n(us, u), k0 = n(os, u), k1 = n(os, u + 1);
            float s = 0.0f;
            for (int c = 0; c < dim; c++) {
                g[c] = grad(gr, dim, ob, k0, k1, c);
            }
            for (int c = 0; c < dim; c++) {
                s = s + g[c] * g[c];
            }
            float acc = f(st, slot) + s / dim;
            f(st, slot, acc);
            float d = (float) Math.sqrt(acc) + eps;
            long row = (long) slot * dim;
            for (int c = 0; c < dim; c++) {
                f(w, row + c, f(w, row + c) - lr * g[c] / d);
            }
            UNSAFE.putByte(dirty + slot, (byte) 1);
        }
    }

    // (weights, state, dirty, dim, uniqueSlots, occStart, occBag, uniques, grad, lr, eps)
    private static void applyAdagrad(Launcher a) {
        long w = a.p(0), st = a.p(1), dirty = a.p(2), us = a.p(4), os = a.p(5), ob = a.p(6), gr = a.p(8);
        int dim = a.i(3), uniques = a.i(7);
        float lr = a.f(9), eps = a.f(10);
        for (int u = 0; u < uniques; u++) {
            int slot = n(us, u), k0 = n(os, u), k1 = n(os, u + 1);
            long row = (long) slot * dim;
            for (int c = 0; c < dim; c++) {
                float g = grad(gr, dim, ob, k0, k1, c);
                float acc = f(st, row + c) + g * g;
                f(st, row + c, acc);
                f(w, row + c, f(w, row + c) - lr * g / ((float) Math.sqrt(acc) + eps));
            }
            UNSAFE.putByte(dirty + slot, (byte) 1);
        }
    }

    // (weights, state, dirty, dim, stateFloats, slots, rows, count)
    private static void writeRows(Launcher a) {
        long w = a.p(0), st = a.p(1), dirty = a.p(2), slots = a.p(5), rows = a.p(6);
        int dim = a.i(3), sf = a.i(4), count = a.i(7), fpr = dim + sf;
        for (int r = 0; r < count; r++) {
            long slot = n(slots, r);
            long src = (long) r * fpr;
            UNSAFE.copyMemory(rows + 4 * src, w + 4 * slot * dim, 4L * dim);
            UNSAFE.copyMemory(rows + 4 * (src + dim), st + 4 * slot * sf, 4L * sf);
            UNSAFE.putByte(dirty + slot, (byte) 0);
        }
    }

    // (weights, state, dirty, dim, stateFloats, slots, rows, flags, count)
    private static void readRows(Launcher a) {
        long w = a.p(0), st = a.p(1), dirty = a.p(2), slots = a.p(5), rows = a.p(6), flags = a.p(7);
        int dim = a.i(3), sf = a.i(4), count = a.i(8), fpr = dim + sf;
        for (int r = 0; r < count; r++) {
            long slot = n(slots, r);
            long dst = (long) r * fpr;
            UNSAFE.copyMemory(w + 4 * slot * dim, rows + 4 * dst, 4L * dim);
            UNSAFE.copyMemory(st + 4 * slot * sf, rows + 4 * (dst + dim), 4L * sf);
            UNSAFE.putByte(flags + r, UNSAFE.getByte(dirty + slot));
        }
    }

    // (dirty, slots, count, value)
    private static void setDirty(Launcher a) {
        long dirty = a.p(0), slots = a.p(1);
        int count = a.i(2);
        byte v = (byte) a.i(3);
        for (int i = 0; i < count; i++) {
            UNSAFE.putByte(dirty + n(slots, i), v);
        }
    }

    // (weights, state, dirty, dim, stateFloats, from, to, count)
    private static void moveSlots(Launcher a) {
        long w = a.p(0), st = a.p(1), dirty = a.p(2), from = a.p(5), to = a.p(6);
        int dim = a.i(3), sf = a.i(4), count = a.i(7);
        for (int r = 0; r < count; r++) {
            long s = n(from, r), d = n(to, r);
            UNSAFE.copyMemory(w + 4 * s * dim, w + 4 * d * dim, 4L * dim);
            UNSAFE.copyMemory(st + 4 * s * sf, st + 4 * d * sf, 4L * sf);
            UNSAFE.putByte(dirty + d, UNSAFE.getByte(dirty + s));
        }
    }

    // (weights, state, dirty, dim, stateFloats, firstSlot, firstRow, count, seed, table, scale)
    private static void initRows(Launcher a) {
        long w = a.p(0), st = a.p(1), dirty = a.p(2);
        int dim = a.i(3), sf = a.i(4), table = a.i(9);
        long firstSlot = a.l(5), firstRow = a.l(6), count = a.l(7), seed = a.l(8);
        float scale = a.f(10);
        for (long r = 0; r < count; r++) {
            long slot = firstSlot + r;
            for (int c = 0; c < dim; c++) {
                f(w, slot * dim + c, dev.ember.cache.table.RowInit.weight(seed, table, firstRow + r, c, scale));
            }
            UNSAFE.setMemory(st + 4 * slot * sf, 4L * sf, (byte) 0);
            UNSAFE.putByte(dirty + slot, (byte) 0);
        }
    }
}

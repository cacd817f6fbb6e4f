package dev.ember.gpu.device;

import org.lwjgl.PointerBuffer;
import org.lwjgl.opencl.CL;
import org.lwjgl.opencl.CL10;
import org.lwjgl.opencl.CL12;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

import static org.lwjgl.opencl.CL10.*;

/**
 * A device reached through OpenCL (LWJGL): POCL on the CPU in CI, the NVIDIA platform on GPU
 * machines. The platform is chosen by name, never by index (the order differs between machines).
 * Kernels come from {@code ember.cl}, built with {@value #BUILD_OPTIONS} and
 * {@code FP_CONTRACT OFF}, so results match the other backends bit for bit.
 *
 * <p>OpenCL cannot report free memory portably; {@link #freeMemory()} is the device's global
 * memory minus what this device object holds. Staging buffers are direct (not page-locked)
 * memory.
 */
public final class OpenClDevice implements Device {
    static final String BUILD_OPTIONS = "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt";
    private static final Object INIT = new Object();
    private static volatile boolean created;

    private final String platformName;
    private final DeviceCalls calls = new DeviceCalls();
    private final String deviceName;
    private final long device;
    private final long context;
    private final long program;
    private final long totalMemory;
    private final long maxAlloc;
    private final boolean gpu;
    private final AtomicLong allocated = new AtomicLong();
    private final ClStream defaultStream;
    private final List<ClStream> streams = new ArrayList<>();
    private boolean closed;

    /** A platform's name and its devices' names and types, for selection and logs. */
    public record PlatformInfo(String name, List<String> devices, boolean hasGpu) {
    }

    private OpenClDevice(long platform, String platformName, long device) {
        this.platformName = platformName;
        this.device = device;
        this.deviceName = deviceString(device, CL_DEVICE_NAME);
        this.totalMemory = deviceLong(device, CL_DEVICE_GLOBAL_MEM_SIZE);
        this.maxAlloc = deviceLong(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
        this.gpu = (deviceLong(device, CL_DEVICE_TYPE) & CL_DEVICE_TYPE_GPU) != 0;
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            PointerBuffer props = stack.mallocPointer(3).put(CL_CONTEXT_PLATFORM).put(platform).put(0).flip();
            this.context = clCreateContext(props, device, null, 0, err);
            check(err.get(0), "clCreateContext");
            this.program = clCreateProgramWithSource(context, KernelSources.load("ember.cl"), err);
            check(err.get(0), "clCreateProgramWithSource");
            int rc = clBuildProgram(program, device, BUILD_OPTIONS, null, 0);
            if (rc != CL_SUCCESS) {
                throw new DeviceException("OpenCL: building ember.cl for " + deviceName + " failed ("
                        + errorName(rc) + "):\n" + buildLog());
            }
        }
        this.defaultStream = new ClStream();
    }

    /** Loads the OpenCL library once ({@code -Dorg.lwjgl.opencl.libname} picks a file). */
    static void ensureLoaded() {
        if (!created) {
            synchronized (INIT) {
                if (!created) {
                    if (System.getProperty("org.lwjgl.opencl.libname") == null) {
                        // Debian and Ubuntu ship the ICD loader as libOpenCL.so.1 only.
                        System.setProperty("org.lwjgl.opencl.libname", "libOpenCL.so.1");
                    }
                    // LWJGL's CL loads the library in its static initialiser; create() only if it did not.
                    if (CL.getFunctionProvider() == null) {
                        CL.create();
                    }
                    created = true;
                }
            }
        }
    }

    /** Every OpenCL platform with its devices; empty when no OpenCL library or platform exists. */
    public static List<PlatformInfo> platforms() {
        ensureLoaded();
        List<PlatformInfo> out = new ArrayList<>();
        for (long p : platformIds()) {
            List<String> names = new ArrayList<>();
            boolean hasGpu = false;
            for (long d : deviceIds(p)) {
                boolean isGpu = (deviceLong(d, CL_DEVICE_TYPE) & CL_DEVICE_TYPE_GPU) != 0;
                hasGpu |= isGpu;
                names.add(deviceString(d, CL_DEVICE_NAME) + (isGpu ? " (GPU)" : " (not a GPU)"));
            }
            out.add(new PlatformInfo(platformString(p, CL_PLATFORM_NAME), names, hasGpu));
        }
        return out;
    }

    /**
     * Opens the first device of the first platform whose name contains {@code platformName}
     * (case-insensitive). The error lists the platforms found.
     */
    public static OpenClDevice open(String platformName) {
        ensureLoaded();
        String want = platformName.toLowerCase(Locale.ROOT);
        List<String> seen = new ArrayList<>();
        for (long p : platformIds()) {
            String name = platformString(p, CL_PLATFORM_NAME);
            seen.add(name);
            if (name.toLowerCase(Locale.ROOT).contains(want)) {
                long[] devices = deviceIds(p);
                if (devices.length == 0) {
                    throw new DeviceException("OpenCL platform '" + name + "' has no devices");
                }
                return new OpenClDevice(p, name, devices[0]);
            }
        }
        throw new DeviceException("no OpenCL platform named like '" + platformName + "'; found " + seen
                + " (set ember.opencl.platform to one of them)");
    }

    public String platformName() {
        return platformName;
    }

    public boolean isGpu() {
        return gpu;
    }

    @Override
    public Backend backend() {
        return Backend.OPENCL;
    }

    @Override
    public String name() {
        return deviceName.trim() + " [" + platformName + "]";
    }

    @Override
    public long freeMemory() {
        return totalMemory - allocated.get();
    }

    @Override
    public long totalMemory() {
        return totalMemory;
    }

    @Override
    public DeviceBuffer allocate(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("buffer size must be > 0, got " + bytes);
        }
        if (bytes > maxAlloc) {
            throw new DeviceMemoryException("OpenCL device " + name() + ": one buffer can hold at most " + maxAlloc
                    + " bytes (CL_DEVICE_MAX_MEM_ALLOC_SIZE), asked " + bytes);
        }
        if (bytes > freeMemory()) {
            throw new DeviceMemoryException("OpenCL device " + name() + ": " + bytes + " bytes asked, "
                    + freeMemory() + " of " + totalMemory + " free");
        }
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            long mem = clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, err);
            int rc = err.get(0);
            if (rc == CL_MEM_OBJECT_ALLOCATION_FAILURE || rc == CL_OUT_OF_RESOURCES || rc == CL_OUT_OF_HOST_MEMORY
                    || rc == CL_INVALID_BUFFER_SIZE) {
                throw new DeviceMemoryException("OpenCL device " + name() + ": allocating " + bytes + " bytes failed ("
                        + errorName(rc) + ")");
            }
            check(rc, "clCreateBuffer");
            allocated.addAndGet(bytes);
            return new ClBuffer(mem, bytes);
        }
    }

    @Override
    public PinnedBuffer allocatePinned(long bytes) {
        if (bytes <= 0 || bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("staging size must be in 1.." + Integer.MAX_VALUE + ", got " + bytes);
        }
        return new DirectPinnedBuffer(ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder()));
    }

    @Override
    public Stream defaultStream() {
        return defaultStream;
    }

    @Override
    public Stream newStream() {
        ClStream s = new ClStream();
        streams.add(s);
        return s;
    }

    @Override
    public Kernel kernel(String name) {
        return new ClKernel(name);
    }

    @Override
    public void copyToDevice(PinnedBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes, Stream s) {
        Bounds.check(src.bytes(), srcOffset, bytes, "source staging");
        ClBuffer d = buffer(dst, dstOffset, bytes);
        calls.toDevice(bytes);
        check(nclEnqueueWriteBuffer(queue(s), d.mem, CL_FALSE, dstOffset, bytes, src.address() + srcOffset, 0, 0, 0),
                "clEnqueueWriteBuffer");
    }

    @Override
    public void copyToHost(DeviceBuffer src, long srcOffset, PinnedBuffer dst, long dstOffset, long bytes, Stream s) {
        Bounds.check(dst.bytes(), dstOffset, bytes, "destination staging");
        ClBuffer b = buffer(src, srcOffset, bytes);
        calls.toHost(bytes);
        check(nclEnqueueReadBuffer(queue(s), b.mem, CL_FALSE, srcOffset, bytes, dst.address() + dstOffset, 0, 0, 0),
                "clEnqueueReadBuffer");
    }

    @Override
    public void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes, Stream s) {
        if (bytes == 0) {
            return;
        }
        ClBuffer a = buffer(src, srcOffset, bytes);
        ClBuffer b = buffer(dst, dstOffset, bytes);
        calls.onDevice(bytes);
        check(clEnqueueCopyBuffer(queue(s), a.mem, b.mem, srcOffset, dstOffset, bytes, null, null), "clEnqueueCopyBuffer");
    }

    @Override
    public void fill(DeviceBuffer dst, long offset, long bytes, byte value, Stream s) {
        if (bytes == 0) {
            return;
        }
        ClBuffer b = buffer(dst, offset, bytes);
        try (MemoryStack stack = MemoryStack.stackPush()) {
            ByteBuffer pattern = stack.malloc(1).put(0, value);
            calls.onDevice(bytes);
            check(CL12.clEnqueueFillBuffer(queue(s), b.mem, pattern, offset, bytes, null, null), "clEnqueueFillBuffer");
        }
    }

    @Override
    public DeviceCalls calls() {
        return calls;
    }

    @Override
    public Event newEvent() {
        return new ClEvent();
    }

    @Override
    public void synchronize() {
        check(clFinish(defaultStream.queue), "clFinish");
        for (ClStream s : streams) {
            if (s.queue != 0) {
                check(clFinish(s.queue), "clFinish");
            }
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (ClStream s : streams) {
            s.close();
        }
        defaultStream.release();
        clReleaseProgram(program);
        clReleaseContext(context);
    }

    private long queue(Stream s) {
        if (!(s instanceof ClStream)) {
            throw new IllegalArgumentException("stream " + s + " does not belong to an OpenCL device");
        }
        long q = ((ClStream) s).queue;
        if (q == 0) {
            throw new IllegalStateException("OpenCL stream used after close");
        }
        return q;
    }

    private ClBuffer buffer(DeviceBuffer b, long offset, long bytes) {
        if (!(b instanceof ClBuffer) || ((ClBuffer) b).owner() != this) {
            throw new IllegalArgumentException("buffer " + b + " does not belong to OpenCL device " + name());
        }
        ClBuffer c = (ClBuffer) b;
        if (c.mem == 0) {
            throw new IllegalStateException("OpenCL buffer used after close");
        }
        Bounds.check(c.bytes, offset, bytes, "device buffer");
        return c;
    }

    private String buildLog() {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, (ByteBuffer) null, size);
            ByteBuffer log = MemoryUtil.memAlloc((int) size.get(0));
            try {
                clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, log, null);
                return MemoryUtil.memASCII(log, (int) Math.max(0, size.get(0) - 1));
            } finally {
                MemoryUtil.memFree(log);
            }
        }
    }

    static void check(int rc, String call) {
        if (rc != CL_SUCCESS) {
            throw new DeviceException("OpenCL " + call + " failed: " + errorName(rc));
        }
    }

    static String errorName(int rc) {
        switch (rc) {
            case CL_DEVICE_NOT_FOUND: return "CL_DEVICE_NOT_FOUND (-1)";
            case CL_MEM_OBJECT_ALLOCATION_FAILURE: return "CL_MEM_OBJECT_ALLOCATION_FAILURE (-4)";
            case CL_OUT_OF_RESOURCES: return "CL_OUT_OF_RESOURCES (-5)";
            case CL_OUT_OF_HOST_MEMORY: return "CL_OUT_OF_HOST_MEMORY (-6)";
            case CL_BUILD_PROGRAM_FAILURE: return "CL_BUILD_PROGRAM_FAILURE (-11)";
            case CL_INVALID_VALUE: return "CL_INVALID_VALUE (-30)";
            case CL_INVALID_KERNEL_NAME: return "CL_INVALID_KERNEL_NAME (-46)";
            case CL_INVALID_ARG_INDEX: return "CL_INVALID_ARG_INDEX (-49)";
            case CL_INVALID_ARG_SIZE: return "CL_INVALID_ARG_SIZE (-51)";
            case CL_INVALID_KERNEL_ARGS: return "CL_INVALID_KERNEL_ARGS (-52)";
            case CL_INVALID_WORK_GROUP_SIZE: return "CL_INVALID_WORK_GROUP_SIZE (-54)";
            case CL_INVALID_BUFFER_SIZE: return "CL_INVALID_BUFFER_SIZE (-61)";
            case CL_INVALID_GLOBAL_WORK_SIZE: return "CL_INVALID_GLOBAL_WORK_SIZE (-63)";
            default: return "OpenCL error " + rc;
        }
    }

    private static long[] platformIds() {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer n = stack.mallocInt(1);
            int rc = clGetPlatformIDs(null, n);
            if (rc == -1001 || n.get(0) == 0) { // CL_PLATFORM_NOT_FOUND_KHR: no ICD installed
                return new long[0];
            }
            check(rc, "clGetPlatformIDs");
            PointerBuffer ids = stack.mallocPointer(n.get(0));
            check(clGetPlatformIDs(ids, (IntBuffer) null), "clGetPlatformIDs");
            long[] out = new long[n.get(0)];
            for (int i = 0; i < out.length; i++) {
                out[i] = ids.get(i);
            }
            return out;
        }
    }

    private static long[] deviceIds(long platform) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer n = stack.mallocInt(1);
            int rc = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, null, n);
            if (rc == CL_DEVICE_NOT_FOUND) {
                return new long[0];
            }
            check(rc, "clGetDeviceIDs");
            PointerBuffer ids = stack.mallocPointer(n.get(0));
            check(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, ids, (IntBuffer) null), "clGetDeviceIDs");
            long[] out = new long[n.get(0)];
            for (int i = 0; i < out.length; i++) {
                out[i] = ids.get(i);
            }
            return out;
        }
    }

    private static String platformString(long platform, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            check(clGetPlatformInfo(platform, param, (ByteBuffer) null, size), "clGetPlatformInfo");
            ByteBuffer b = stack.malloc((int) size.get(0));
            check(clGetPlatformInfo(platform, param, b, null), "clGetPlatformInfo");
            return MemoryUtil.memASCII(b, (int) size.get(0) - 1);
        }
    }

    private static String deviceString(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            check(clGetDeviceInfo(device, param, (ByteBuffer) null, size), "clGetDeviceInfo");
            ByteBuffer b = stack.malloc((int) size.get(0));
            check(clGetDeviceInfo(device, param, b, null), "clGetDeviceInfo");
            return MemoryUtil.memASCII(b, (int) size.get(0) - 1);
        }
    }

    private static long deviceLong(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            LongBuffer v = stack.mallocLong(1);
            check(clGetDeviceInfo(device, param, v, null), "clGetDeviceInfo");
            return v.get(0);
        }
    }

    private final class ClBuffer implements DeviceBuffer {
        private final long bytes;
        private long mem;

        ClBuffer(long mem, long bytes) {
            this.mem = mem;
            this.bytes = bytes;
        }

        OpenClDevice owner() {
            return OpenClDevice.this;
        }

        @Override
        public long bytes() {
            return bytes;
        }

        @Override
        public Device device() {
            return OpenClDevice.this;
        }

        @Override
        public void close() {
            if (mem != 0) {
                clReleaseMemObject(mem);
                mem = 0;
                allocated.addAndGet(-bytes);
            }
        }

        @Override
        public String toString() {
            return "ClBuffer[" + bytes + " B]";
        }
    }

    private final class ClStream implements Stream {
        private long queue;

        ClStream() {
            try (MemoryStack stack = MemoryStack.stackPush()) {
                IntBuffer err = stack.mallocInt(1);
                queue = clCreateCommandQueue(context, device, 0, err);
                check(err.get(0), "clCreateCommandQueue");
            }
        }

        @Override
        public void waitFor(Event event) {
            long ev = ((ClEvent) event).handle();
            if (ev == 0) {
                return;
            }
            try (MemoryStack stack = MemoryStack.stackPush()) {
                check(CL12.clEnqueueBarrierWithWaitList(queue, stack.pointers(ev), null), "clEnqueueBarrierWithWaitList");
            }
        }

        @Override
        public void synchronize() {
            check(clFinish(queue), "clFinish");
        }

        @Override
        public void close() {
            if (this != defaultStream) {
                release();
            }
        }

        void release() {
            if (queue != 0) {
                clFinish(queue);
                clReleaseCommandQueue(queue);
                queue = 0;
            }
        }
    }

    /** A cl_event is single-use: recording again releases the old one and enqueues a marker. */
    private final class ClEvent implements Event {
        private final PointerBuffer out = MemoryUtil.memAllocPointer(1);
        private long event;

        @Override
        public void record(Stream s) {
            long q = queue(s);
            if (event != 0) {
                clReleaseEvent(event);
                event = 0;
            }
            // A barrier, not a marker: POCL completed markers early under load (seen in the contract tests).
            check(CL12.clEnqueueBarrierWithWaitList(q, null, out), "clEnqueueBarrierWithWaitList");
            event = out.get(0);
            // Another queue may wait on this event: the spec requires its queue to be flushed first.
            check(clFlush(q), "clFlush");
        }

        long handle() {
            return event;
        }

        @Override
        public void synchronize() {
            if (event != 0) {
                check(clWaitForEvents(event), "clWaitForEvents");
            }
        }

        @Override
        public boolean isDone() {
            if (event == 0) {
                return true;
            }
            try (MemoryStack stack = MemoryStack.stackPush()) {
                IntBuffer status = stack.mallocInt(1);
                check(clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, status, null), "clGetEventInfo");
                int st = status.get(0);
                if (st < 0) {
                    throw new DeviceException("OpenCL: a command before an event failed: " + errorName(st));
                }
                return st == CL_COMPLETE;
            }
        }

        @Override
        public void close() {
            if (event != 0) {
                clReleaseEvent(event);
                event = 0;
            }
            MemoryUtil.memFree(out);
        }
    }

    /** One cl_kernel per launcher: OpenCL keeps argument values in the kernel object. */
    private final class ClKernel implements Kernel {
        private final String name;
        private final long kernel;
        private final PointerBuffer global = MemoryUtil.memAllocPointer(1);
        private final PointerBuffer local = MemoryUtil.memAllocPointer(1);

        ClKernel(String name) {
            this.name = name;
            try (MemoryStack stack = MemoryStack.stackPush()) {
                IntBuffer err = stack.mallocInt(1);
                long k = clCreateKernel(program, name, err);
                if (err.get(0) == CL_INVALID_KERNEL_NAME) {
                    throw new DeviceException("no kernel named " + name + " in ember.cl");
                }
                check(err.get(0), "clCreateKernel(" + name + ")");
                this.kernel = k;
            }
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Kernel arg(int index, DeviceBuffer b) {
            check(clSetKernelArg1p(kernel, index, buffer(b, 0, 0).mem), name + ": clSetKernelArg " + index);
            return this;
        }

        @Override
        public Kernel arg(int index, int value) {
            check(clSetKernelArg1i(kernel, index, value), name + ": clSetKernelArg " + index);
            return this;
        }

        @Override
        public Kernel arg(int index, long value) {
            check(clSetKernelArg1l(kernel, index, value), name + ": clSetKernelArg " + index);
            return this;
        }

        @Override
        public Kernel arg(int index, float value) {
            check(clSetKernelArg1f(kernel, index, value), name + ": clSetKernelArg " + index);
            return this;
        }

        @Override
        public void launch(Stream stream, int groups, int groupSize) {
            if (groups < 0 || groupSize <= 0) {
                throw new IllegalArgumentException(name + ": bad launch geometry " + groups + " x " + groupSize);
            }
            if (groups == 0) {
                return;
            }
            global.put(0, (long) groups * groupSize);
            local.put(0, groupSize);
            calls.kernel();
            check(clEnqueueNDRangeKernel(queue(stream), kernel, 1, null, global, local, null, null),
                    name + ": clEnqueueNDRangeKernel");
        }
    }
}

package dev.ember.gpu.device;

import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUgraphExec_st;
import org.bytedeco.cuda.cudart.CUgraph_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.bytedeco.cuda.global.cudart.*;

/**
 * An NVIDIA GPU through the CUDA driver API (org.bytedeco cuda 13). Kernels come from
 * {@code ember.cu}, compiled at run time by NVRTC for the card found ({@code -arch=sm_XY},
 * {@code --fmad=false}) and cached as a cubin per card and source under
 * {@code ~/.cache/ember/kernels} (or {@code -Dember.kernel.cache}). Kernel argument blocks are
 * allocated once per launcher and rewritten in place; staging is page-locked host memory.
 *
 * <p>Uses the device's primary context, made current on whichever thread calls in. "Default
 * stream" here is a non-blocking stream of this device, not CUDA's legacy stream 0.
 */
public final class CudaDevice implements Device {
    private static final ThreadLocal<CUctx_st> CURRENT = new ThreadLocal<>();

    private final int ordinal;
    private final int cuDevice;
    private final CUctx_st context;
    private final String name;
    private final int major;
    private final int minor;
    private final long total;
    private final CUmod_st module;
    /** Modules compiled from other kernel files ({@link #kernel(String, String)}), by file name. */
    private final java.util.Map<String, CUmod_st> extraModules = new java.util.HashMap<>();
    private final CudaStream defaultStream;
    private final List<CudaStream> streams = new ArrayList<>();
    private final SizeTPointer memFree = new SizeTPointer(1);
    private final SizeTPointer memTotal = new SizeTPointer(1);
    private final long[] out = new long[1];
    private cublasContext cublasHandle;
    private final DeviceCalls calls = new DeviceCalls();
    private boolean closed;

    private CudaDevice(int ordinal) {
        this.ordinal = ordinal;
        check(cuInit(0), "cuInit");
        int[] count = new int[1];
        check(cuDeviceGetCount(count), "cuDeviceGetCount");
        if (ordinal < 0 || ordinal >= count[0]) {
            throw new DeviceException("CUDA device " + ordinal + " does not exist; " + count[0] + " device(s) found");
        }
        int[] dev = new int[1];
        check(cuDeviceGet(dev, ordinal), "cuDeviceGet");
        this.cuDevice = dev[0];
        this.context = new CUctx_st();
        check(cuDevicePrimaryCtxRetain(context, cuDevice), "cuDevicePrimaryCtxRetain");
        bind();
        byte[] nameBytes = new byte[256];
        check(cuDeviceGetName(nameBytes, nameBytes.length, cuDevice), "cuDeviceGetName");
        int len = 0;
        while (len < nameBytes.length && nameBytes[len] != 0) {
            len++;
        }
        this.name = new String(nameBytes, 0, len, StandardCharsets.US_ASCII);
        int[] v = new int[1];
        check(cuDeviceGetAttribute(v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, cuDevice), "cuDeviceGetAttribute");
        this.major = v[0];
        check(cuDeviceGetAttribute(v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, cuDevice), "cuDeviceGetAttribute");
        this.minor = v[0];
        SizeTPointer t = new SizeTPointer(1);
        check(cuDeviceTotalMem(t, cuDevice), "cuDeviceTotalMem");
        this.total = t.get(0);
        this.module = loadModule("ember.cu");
        this.defaultStream = new CudaStream();
    }

    /**
     * Why CUDA cannot be used here, or null when it can: missing libraries are named; a driver
     * without a device reports the driver's error.
     */
    public static String unavailableReason() {
        String missing = CudaLibraries.explainMissing(CudaLibraries.REQUIRED);
        if (missing != null) {
            return missing;
        }
        try {
            int rc = cuInit(0);
            if (rc != CUDA_SUCCESS) {
                return "the CUDA driver did not start: " + errorName(rc);
            }
            int[] count = new int[1];
            rc = cuDeviceGetCount(count);
            if (rc != CUDA_SUCCESS) {
                return "cuDeviceGetCount failed: " + errorName(rc);
            }
            if (count[0] == 0) {
                return "the CUDA driver reports no device";
            }
            return null;
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            return "the CUDA bindings (org.bytedeco cuda) did not load: " + e.getMessage();
        }
    }

    /** Opens CUDA device {@code ordinal}; the error says which library or driver call failed. */
    public static CudaDevice open(int ordinal) {
        String why = unavailableReason();
        if (why != null) {
            throw new DeviceException("CUDA is not available: " + why);
        }
        return new CudaDevice(ordinal);
    }

    /** Compute capability as "sm_90". */
    public String architecture() {
        return "sm_" + major + minor;
    }

    public int ordinal() {
        return ordinal;
    }

    /** Makes this device's context current on the calling thread (done by every call here). */
    public void bind() {
        if (CURRENT.get() != context) {
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            CURRENT.set(context);
        }
    }

    /** A cuBLAS handle on the default stream, created on first use (the trainer's dense compute). */
    public cublasContext cublas() {
        if (cublasHandle == null) {
            String missing = CudaLibraries.explainMissing(CudaLibraries.CUBLAS);
            if (missing != null) {
                throw new DeviceException("cuBLAS is not available: " + missing);
            }
            bind();
            cublasContext h = new cublasContext();
            int rc = cublas.cublasCreate_v2(h);
            if (rc != 0) {
                throw new DeviceException("cublasCreate failed with status " + rc);
            }
            rc = cublas.cublasSetStream_v2(h, defaultStream.stream);
            if (rc != 0) {
                throw new DeviceException("cublasSetStream failed with status " + rc);
            }
            cublasHandle = h;
        }
        return cublasHandle;
    }

    /** The raw stream behind {@code s}, for the trainer's own CUDA calls. */
    public CUstream_st raw(Stream s) {
        return stream(s);
    }

    /** The device address of a buffer of this device. */
    public long address(DeviceBuffer b) {
        return buffer(b, 0, 0).ptr;
    }

    /**
     * A FloatPointer holding a buffer's device address, for cuBLAS calls (never dereferenced on
     * the host). Allocates a small Java object: make these once per buffer, not per call.
     */
    public FloatPointer floats(DeviceBuffer b) {
        CudaBuffer c = buffer(b, 0, 0);
        return new DeviceFloats(c.ptr, c.bytes / Float.BYTES);
    }

    /** A device address in a JavaCPP pointer: JavaCPP passes it to C as is. */
    private static final class DeviceFloats extends FloatPointer {
        DeviceFloats(long address, long count) {
            super((Pointer) null);
            this.address = address;
            this.capacity = count;
            this.limit = count;
        }
    }

    @Override
    public Backend backend() {
        return Backend.CUDA;
    }

    @Override
    public String name() {
        return name + " (" + architecture() + ")";
    }

    @Override
    public long freeMemory() {
        bind();
        check(cuMemGetInfo(memFree, memTotal), "cuMemGetInfo");
        return memFree.get(0);
    }

    @Override
    public long totalMemory() {
        return total;
    }

    @Override
    public DeviceBuffer allocate(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("buffer size must be > 0, got " + bytes);
        }
        bind();
        int rc = cuMemAlloc(out, bytes);
        if (rc == CUDA_ERROR_OUT_OF_MEMORY) {
            throw new DeviceMemoryException("CUDA device " + name() + ": allocating " + bytes + " bytes failed ("
                    + errorName(rc) + "); " + freeMemory() + " of " + total + " free");
        }
        check(rc, "cuMemAlloc(" + bytes + ")");
        return new CudaBuffer(out[0], bytes);
    }

    @Override
    public PinnedBuffer allocatePinned(long bytes) {
        if (bytes <= 0 || bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("staging size must be in 1.." + Integer.MAX_VALUE + ", got " + bytes);
        }
        bind();
        Pointer p = new Pointer();
        int rc = cuMemAllocHost(p, bytes);
        if (rc == CUDA_ERROR_OUT_OF_MEMORY) {
            throw new DeviceMemoryException("CUDA: cannot pin " + bytes + " bytes of host memory (" + errorName(rc) + ")");
        }
        check(rc, "cuMemAllocHost(" + bytes + ")");
        return new CudaPinned(p, bytes);
    }

    @Override
    public Stream defaultStream() {
        return defaultStream;
    }

    @Override
    public Stream newStream() {
        CudaStream s = new CudaStream();
        streams.add(s);
        return s;
    }

    @Override
    public Kernel kernel(String kernelName) {
        return kernel(module, "ember.cu", kernelName);
    }

    /**
     * A launcher for kernel {@code kernelName} of another kernel file of module native
     * ({@code dev/ember/kernels/<file>}, such as the trainer's {@code dlrm.cu}), compiled by NVRTC
     * and cached exactly as {@code ember.cu}; the file is loaded once per device.
     */
    public Kernel kernel(String file, String kernelName) {
        bind();
        CUmod_st m = extraModules.get(file);
        if (m == null) {
            m = loadModule(file);
            extraModules.put(file, m);
        }
        return kernel(m, file, kernelName);
    }

    private Kernel kernel(CUmod_st m, String file, String kernelName) {
        bind();
        CUfunc_st f = new CUfunc_st();
        int rc = cuModuleGetFunction(f, m, kernelName);
        if (rc == CUDA_ERROR_NOT_FOUND) {
            throw new DeviceException("no kernel named " + kernelName + " in " + file);
        }
        check(rc, "cuModuleGetFunction(" + kernelName + ")");
        return new CudaKernel(kernelName, f);
    }

    private CUmod_st loadModule(String file) {
        byte[] cubin = compiledKernels(file);
        CUmod_st m = new CUmod_st();
        BytePointer image = new BytePointer(cubin.length);
        image.put(cubin, 0, cubin.length);
        check(cuModuleLoadData(m, image), "cuModuleLoadData(" + file + ")");
        image.close();
        return m;
    }

    @Override
    public void copyToDevice(PinnedBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes, Stream s) {
        Bounds.check(src.bytes(), srcOffset, bytes, "source staging");
        CudaBuffer d = buffer(dst, dstOffset, bytes);
        bind();
        calls.toDevice(bytes);
        check(cuMemcpyHtoDAsync(d.ptr + dstOffset, pinned(src).at(srcOffset), bytes, stream(s)), "cuMemcpyHtoDAsync");
    }

    @Override
    public void copyToHost(DeviceBuffer src, long srcOffset, PinnedBuffer dst, long dstOffset, long bytes, Stream s) {
        Bounds.check(dst.bytes(), dstOffset, bytes, "destination staging");
        CudaBuffer b = buffer(src, srcOffset, bytes);
        bind();
        calls.toHost(bytes);
        check(cuMemcpyDtoHAsync(pinned(dst).at(dstOffset), b.ptr + srcOffset, bytes, stream(s)), "cuMemcpyDtoHAsync");
    }

    @Override
    public void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes, Stream s) {
        CudaBuffer a = buffer(src, srcOffset, bytes);
        CudaBuffer b = buffer(dst, dstOffset, bytes);
        if (bytes == 0) {
            return;
        }
        bind();
        calls.onDevice(bytes);
        check(cuMemcpyDtoDAsync(b.ptr + dstOffset, a.ptr + srcOffset, bytes, stream(s)), "cuMemcpyDtoDAsync");
    }

    @Override
    public void fill(DeviceBuffer dst, long offset, long bytes, byte value, Stream s) {
        CudaBuffer b = buffer(dst, offset, bytes);
        if (bytes == 0) {
            return;
        }
        bind();
        calls.onDevice(bytes);
        check(cuMemsetD8Async(b.ptr + offset, value, bytes, stream(s)), "cuMemsetD8Async");
    }

    @Override
    public DeviceCalls calls() {
        return calls;
    }

    @Override
    public Event newEvent() {
        bind();
        return new CudaEvent();
    }

    @Override
    public void synchronize() {
        bind();
        check(cuCtxSynchronize(), "cuCtxSynchronize");
    }

    /**
     * Records the work {@code work} issues on {@code s} into a CUDA graph instead of running it;
     * launching the graph replays it with one call.
     */
    public CudaGraph capture(Stream s, Runnable work) {
        bind();
        CUstream_st raw = stream(s);
        check(cuStreamBeginCapture(raw, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture");
        CUgraph_st graph = new CUgraph_st();
        try {
            work.run();
        } finally {
            check(cuStreamEndCapture(raw, graph), "cuStreamEndCapture");
        }
        CUgraphExec_st exec = new CUgraphExec_st();
        check(cuGraphInstantiate(exec, graph, 0L), "cuGraphInstantiate");
        return new CudaGraph(graph, exec);
    }

    /** An instantiated CUDA graph. */
    public final class CudaGraph implements AutoCloseable {
        private final CUgraph_st graph;
        private final CUgraphExec_st exec;

        private CudaGraph(CUgraph_st graph, CUgraphExec_st exec) {
            this.graph = graph;
            this.exec = exec;
        }

        public void launch(Stream s) {
            bind();
            calls.graph();
            check(cuGraphLaunch(exec, stream(s)), "cuGraphLaunch");
        }

        @Override
        public void close() {
            cuGraphExecDestroy(exec);
            cuGraphDestroy(graph);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        bind();
        cuCtxSynchronize();
        if (cublasHandle != null) {
            cublas.cublasDestroy_v2(cublasHandle);
        }
        for (CudaStream s : streams) {
            s.close();
        }
        defaultStream.release();
        cuModuleUnload(module);
        for (CUmod_st m : extraModules.values()) {
            cuModuleUnload(m);
        }
        cuDevicePrimaryCtxRelease(cuDevice);
        CURRENT.remove();
    }

    // ---------------------------------------------------------------- kernels

    private byte[] compiledKernels(String file) {
        String source = KernelSources.load(file);
        String arch = architecture();
        String[] options = {"-arch=" + arch, "--fmad=false", "-default-device"};
        int[] ver = new int[2];
        int[] verMinor = new int[1];
        nvrtc.nvrtcVersion(ver, verMinor);
        String key = sha256(source + "\n" + String.join(" ", options) + "\nnvrtc " + ver[0] + "." + verMinor[0]);
        String stem = file.endsWith(".cu") ? file.substring(0, file.length() - 3) : file;
        Path cache = cacheDir().resolve(stem + "-" + arch + "-" + key.substring(0, 24) + ".cubin");
        try {
            if (Files.isRegularFile(cache)) {
                return Files.readAllBytes(cache);
            }
        } catch (IOException e) {
            // An unreadable cache entry is recompiled.
        }
        byte[] cubin = nvrtcCompile(source, file, options);
        try {
            Files.createDirectories(cache.getParent());
            Path tmp = Files.createTempFile(cache.getParent(), "ember", ".tmp");
            Files.write(tmp, cubin);
            Files.move(tmp, cache, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | UnsupportedOperationException e) {
            // The cache only saves time; a read-only home still runs.
        }
        return cubin;
    }

    private static byte[] nvrtcCompile(String source, String file, String[] options) {
        _nvrtcProgram prog = new _nvrtcProgram();
        BytePointer src = new BytePointer(source);
        BytePointer fileName = new BytePointer(file);
        nvrtcCheck(nvrtc.nvrtcCreateProgram(prog, src, fileName, 0, (PointerPointer<?>) null, (PointerPointer<?>) null),
                "nvrtcCreateProgram");
        try {
            PointerPointer<BytePointer> opts = new PointerPointer<>(options);
            int rc = nvrtc.nvrtcCompileProgram(prog, options.length, opts);
            if (rc != nvrtc.NVRTC_SUCCESS) {
                SizeTPointer logSize = new SizeTPointer(1);
                nvrtc.nvrtcGetProgramLogSize(prog, logSize);
                BytePointer log = new BytePointer(logSize.get(0));
                nvrtc.nvrtcGetProgramLog(prog, log);
                throw new DeviceException("NVRTC could not compile " + file + " (" + String.join(" ", options) + "): "
                        + nvrtc.nvrtcGetErrorString(rc).getString() + "\n" + log.getString());
            }
            SizeTPointer size = new SizeTPointer(1);
            nvrtcCheck(nvrtc.nvrtcGetCUBINSize(prog, size), "nvrtcGetCUBINSize");
            BytePointer cubin = new BytePointer(size.get(0));
            nvrtcCheck(nvrtc.nvrtcGetCUBIN(prog, cubin), "nvrtcGetCUBIN");
            byte[] bytes = new byte[(int) size.get(0)];
            cubin.get(bytes);
            return bytes;
        } finally {
            nvrtc.nvrtcDestroyProgram(prog);
        }
    }

    private static void nvrtcCheck(int rc, String call) {
        if (rc != nvrtc.NVRTC_SUCCESS) {
            throw new DeviceException("NVRTC " + call + " failed: " + nvrtc.nvrtcGetErrorString(rc).getString());
        }
    }

    private static Path cacheDir() {
        String dir = System.getProperty("ember.kernel.cache");
        if (dir != null) {
            return Paths.get(dir);
        }
        return Paths.get(System.getProperty("user.home"), ".cache", "ember", "kernels");
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---------------------------------------------------------------- helpers

    static void check(int rc, String call) {
        if (rc != CUDA_SUCCESS) {
            throw new DeviceException("CUDA " + call + " failed: " + errorName(rc));
        }
    }

    static String errorName(int rc) {
        PointerPointer<?> p = new PointerPointer<>(1);
        String name = cuGetErrorName(rc, p) == CUDA_SUCCESS && p.get(0) != null ? new BytePointer(p.get(0)).getString() : "?";
        String text = cuGetErrorString(rc, p) == CUDA_SUCCESS && p.get(0) != null ? new BytePointer(p.get(0)).getString() : "";
        return name + " (" + rc + ")" + (text.isEmpty() ? "" : ": " + text);
    }

    private CUstream_st stream(Stream s) {
        if (!(s instanceof CudaStream) || ((CudaStream) s).owner() != this) {
            throw new IllegalArgumentException("stream " + s + " does not belong to CUDA device " + name());
        }
        CUstream_st raw = ((CudaStream) s).stream;
        if (raw == null) {
            throw new IllegalStateException("CUDA stream used after close");
        }
        return raw;
    }

    private CudaBuffer buffer(DeviceBuffer b, long offset, long bytes) {
        if (!(b instanceof CudaBuffer) || ((CudaBuffer) b).owner() != this) {
            throw new IllegalArgumentException("buffer " + b + " does not belong to CUDA device " + name());
        }
        CudaBuffer c = (CudaBuffer) b;
        if (c.ptr == 0) {
            throw new IllegalStateException("CUDA buffer used after close");
        }
        Bounds.check(c.bytes, offset, bytes, "device buffer");
        return c;
    }

    private static CudaPinned pinned(PinnedBuffer p) {
        if (!(p instanceof CudaPinned)) {
            throw new IllegalArgumentException("staging buffer " + p + " was not made by a CUDA device's allocatePinned");
        }
        return (CudaPinned) p;
    }

    private final class CudaBuffer implements DeviceBuffer {
        private final long bytes;
        private long ptr;

        CudaBuffer(long ptr, long bytes) {
            this.ptr = ptr;
            this.bytes = bytes;
        }

        CudaDevice owner() {
            return CudaDevice.this;
        }

        @Override
        public long bytes() {
            return bytes;
        }

        @Override
        public Device device() {
            return CudaDevice.this;
        }

        @Override
        public void close() {
            if (ptr != 0) {
                bind();
                cuMemFree(ptr);
                ptr = 0;
            }
        }

        @Override
        public String toString() {
            return "CudaBuffer[" + bytes + " B]";
        }
    }

    /** Page-locked memory; {@link #at} moves a reusable cursor so copies allocate nothing. */
    private final class CudaPinned implements PinnedBuffer {
        private final Pointer base;
        private final BytePointer cursor;
        private final long bytes;
        private final ByteBuffer view;
        private boolean freed;

        CudaPinned(Pointer base, long bytes) {
            this.base = base;
            this.bytes = bytes;
            this.cursor = new BytePointer(base);
            cursor.capacity(bytes);
            cursor.limit(bytes);
            this.view = cursor.asByteBuffer().order(ByteOrder.nativeOrder());
        }

        Pointer at(long offset) {
            return cursor.position(offset);
        }

        @Override
        public long bytes() {
            return bytes;
        }

        @Override
        public long address() {
            return base.address();
        }

        @Override
        public ByteBuffer buffer() {
            return view.duplicate().order(ByteOrder.nativeOrder()).clear();
        }

        @Override
        public void close() {
            if (!freed) {
                freed = true;
                bind();
                cuMemFreeHost(base);
            }
        }
    }

    private final class CudaStream implements Stream {
        private CUstream_st stream;

        CudaStream() {
            bind();
            CUstream_st s = new CUstream_st();
            check(cuStreamCreate(s, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
            this.stream = s;
        }

        CudaDevice owner() {
            return CudaDevice.this;
        }

        @Override
        public void waitFor(Event event) {
            bind();
            check(cuStreamWaitEvent(stream, ((CudaEvent) event).event, 0), "cuStreamWaitEvent");
        }

        @Override
        public void synchronize() {
            bind();
            check(cuStreamSynchronize(stream), "cuStreamSynchronize");
        }

        @Override
        public void close() {
            if (this != defaultStream) {
                release();
            }
        }

        void release() {
            if (stream != null) {
                bind();
                cuStreamSynchronize(stream);
                cuStreamDestroy(stream);
                stream = null;
            }
        }
    }

    private final class CudaEvent implements Event {
        private final CUevent_st event;
        private boolean destroyed;

        CudaEvent() {
            CUevent_st e = new CUevent_st();
            check(cuEventCreate(e, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
            this.event = e;
        }

        @Override
        public void record(Stream s) {
            bind();
            check(cuEventRecord(event, stream(s)), "cuEventRecord");
        }

        @Override
        public void synchronize() {
            bind();
            check(cuEventSynchronize(event), "cuEventSynchronize");
        }

        @Override
        public boolean isDone() {
            bind();
            int rc = cuEventQuery(event);
            if (rc == CUDA_ERROR_NOT_READY) {
                return false;
            }
            check(rc, "cuEventQuery");
            return true;
        }

        @Override
        public void close() {
            if (!destroyed) {
                destroyed = true;
                cuEventDestroy(event);
            }
        }
    }

    /**
     * A launcher whose argument block is allocated once: 16 slots of 8 bytes ({@code block}) and
     * the array of their addresses ({@code argv}) that cuLaunchKernel reads.
     */
    private final class CudaKernel implements Kernel {
        private static final int MAX_ARGS = 16;
        private final String kernelName;
        /** The launch's name in an error, made once: a launch allocates nothing. */
        private final String launchCall;
        private final CUfunc_st function;
        private final BytePointer block = new BytePointer(8L * MAX_ARGS);
        private final PointerPointer<Pointer> argv = new PointerPointer<>(MAX_ARGS);

        CudaKernel(String kernelName, CUfunc_st function) {
            this.kernelName = kernelName;
            this.launchCall = "cuLaunchKernel(" + kernelName + ")";
            this.function = function;
            block.fill(0);
            // argv[i] = &block[8 i], written through a long view of argv's own memory. (The
            // Pointer overload of cuLaunchKernel passes void** by pointer-to-pointer: wrong here.)
            LongPointer slots = new LongPointer(argv);
            for (int i = 0; i < MAX_ARGS; i++) {
                slots.put(i, block.address() + 8L * i);
            }
        }

        @Override
        public String name() {
            return kernelName;
        }

        @Override
        public Kernel arg(int index, DeviceBuffer b) {
            block.putLong(8L * checkIndex(index), buffer(b, 0, 0).ptr);
            return this;
        }

        @Override
        public Kernel arg(int index, int value) {
            block.putInt(8L * checkIndex(index), value);
            return this;
        }

        @Override
        public Kernel arg(int index, long value) {
            block.putLong(8L * checkIndex(index), value);
            return this;
        }

        @Override
        public Kernel arg(int index, float value) {
            block.putFloat(8L * checkIndex(index), value);
            return this;
        }

        private int checkIndex(int index) {
            if (index < 0 || index >= MAX_ARGS) {
                throw new IllegalArgumentException(kernelName + ": argument index " + index + " outside 0.." + (MAX_ARGS - 1));
            }
            return index;
        }

        @Override
        public void launch(Stream s, int groups, int groupSize) {
            if (groups < 0 || groupSize <= 0) {
                throw new IllegalArgumentException(kernelName + ": bad launch geometry " + groups + " x " + groupSize);
            }
            if (groups == 0) {
                return;
            }
            bind();
            calls.kernel();
            check(cuLaunchKernel(function, groups, 1, 1, groupSize, 1, 1, 0, stream(s), argv, (PointerPointer<?>) null),
                    launchCall);
        }
    }
}

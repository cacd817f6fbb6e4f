package dev.ember.gpu;

import dev.ember.gpu.device.CudaDevice;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceSelector;
import dev.ember.gpu.device.OpenClDevice;

import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The devices the contract suites run on. OpenCL: {@code -Dember.opencl.platform} if set, else
 * the first platform with a GPU (NVIDIA on the GPU machine), else POCL. CUDA: skipped with the
 * reason (missing library named) when no driver or device is present.
 */
public final class TestDevices {
    private TestDevices() {
    }

    public static Device openCl() {
        List<OpenClDevice.PlatformInfo> platforms = List.of();
        String why = null;
        try {
            platforms = OpenClDevice.platforms();
        } catch (RuntimeException | LinkageError e) {
            why = "no OpenCL library (" + e + ")";
        }
        if (why == null && platforms.isEmpty()) {
            why = "no OpenCL platform";
        }
        String reason = why;
        assumeTrue(reason == null, () -> "OpenCL tests skipped: " + reason + "; install pocl-opencl-icd");
        String wanted = System.getProperty(DeviceSelector.OPENCL_PLATFORM_PROPERTY);
        if (wanted == null || wanted.isBlank()) {
            wanted = platforms.stream().filter(OpenClDevice.PlatformInfo::hasGpu).map(OpenClDevice.PlatformInfo::name)
                    .findFirst().orElse(platforms.get(0).name());
        }
        OpenClDevice d = OpenClDevice.open(wanted);
        System.out.println("OpenCL tests on " + d.name());
        return d;
    }

    public static Device cuda() {
        String why = CudaDevice.unavailableReason();
        assumeTrue(why == null, () -> "CUDA tests skipped: " + why);
        CudaDevice d = CudaDevice.open(0);
        System.out.println("CUDA tests on " + d.name());
        return d;
    }
}

package dev.ember.gpu.device;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Picks the device for {@code --device auto|cuda|opencl|host}. {@code auto} takes CUDA, then an
 * OpenCL GPU, then the host, and logs what it took and why each better choice was passed over
 * (a missing CUDA library is named). A named backend that cannot start is an error, not a
 * silent fallback.
 *
 * <p>OpenCL platform: {@code -Dember.opencl.platform=<name part>} if set, else the first platform
 * with a GPU (for {@code auto}) or with any device (for {@code opencl}).
 */
public final class DeviceSelector {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceSelector.class);
    public static final String OPENCL_PLATFORM_PROPERTY = "ember.opencl.platform";

    /** The device chosen and the reasons the others were not. */
    public record Selection(Device device, List<String> passedOver) {
    }

    private DeviceSelector() {
    }

    public static Device open(String mode) {
        return select(mode).device();
    }

    public static Selection select(String mode) {
        String m = mode == null ? "auto" : mode.trim().toLowerCase(Locale.ROOT);
        List<String> passed = new ArrayList<>();
        Device d;
        switch (m) {
            case "cuda":
                d = CudaDevice.open(0);
                break;
            case "opencl":
                d = openCl(false, passed);
                if (d == null) {
                    throw new DeviceException("no usable OpenCL device: " + String.join("; ", passed)
                            + " (install an OpenCL driver, e.g. pocl-opencl-icd, or choose --device host)");
                }
                break;
            case "host":
                d = new HostDevice();
                break;
            case "auto":
                d = auto(passed);
                break;
            default:
                throw new IllegalArgumentException("device '" + mode + "' is not one of auto, cuda, opencl, host");
        }
        LOG.info("device: {} ({}){}", d.name(), d.backend().id(),
                passed.isEmpty() ? "" : "; passed over: " + String.join("; ", passed));
        return new Selection(d, List.copyOf(passed));
    }

    private static Device auto(List<String> passed) {
        String why = CudaDevice.unavailableReason();
        if (why == null) {
            try {
                return CudaDevice.open(0);
            } catch (DeviceException e) {
                passed.add("cuda: " + e.getMessage());
            }
        } else {
            passed.add("cuda: " + why);
        }
        Device cl = openCl(true, passed);
        if (cl != null) {
            return cl;
        }
        return new HostDevice();
    }

    /** An OpenCL device, or null with the reason added to {@code passed}. */
    private static Device openCl(boolean gpuOnly, List<String> passed) {
        List<OpenClDevice.PlatformInfo> platforms;
        try {
            platforms = OpenClDevice.platforms();
        } catch (RuntimeException | LinkageError e) {
            passed.add("opencl: no OpenCL library (" + e.getMessage() + ")");
            return null;
        }
        String wanted = System.getProperty(OPENCL_PLATFORM_PROPERTY);
        if (wanted != null && !wanted.isBlank()) {
            return OpenClDevice.open(wanted);
        }
        for (OpenClDevice.PlatformInfo p : platforms) {
            if (p.devices().isEmpty()) {
                passed.add("opencl platform '" + p.name() + "': no devices");
            } else if (gpuOnly && !p.hasGpu()) {
                passed.add("opencl platform '" + p.name() + "': no GPU (" + String.join(", ", p.devices()) + ")");
            } else {
                try {
                    return OpenClDevice.open(p.name());
                } catch (DeviceException e) {
                    passed.add("opencl platform '" + p.name() + "': " + e.getMessage());
                }
            }
        }
        if (platforms.isEmpty()) {
            passed.add("opencl: no OpenCL platform installed");
        }
        return null;
    }
}

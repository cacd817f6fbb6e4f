package dev.ember.jmh.gpu;

import dev.ember.gpu.device.CudaDevice;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.DeviceSelector;
import dev.ember.gpu.device.OpenClDevice;

import java.util.List;
import java.util.Random;

/**
 * Opens the {@code backend} parameter's device for a benchmark. A backend that is not present
 * fails the benchmark's setup with a message starting "SKIPPED:" and naming why (for CUDA the
 * missing library), so a run with {@code -p backend=host,opencl,cuda} reports what it could.
 */
final class Backends {
    private Backends() {
    }

    static Device open(String backend) {
        switch (backend) {
            case "cuda": {
                String why = CudaDevice.unavailableReason();
                if (why != null) {
                    throw new IllegalStateException("SKIPPED: backend cuda is not present here: " + why);
                }
                return report(CudaDevice.open(0));
            }
            case "opencl": {
                List<OpenClDevice.PlatformInfo> platforms;
                try {
                    platforms = OpenClDevice.platforms();
                } catch (RuntimeException | LinkageError e) {
                    throw new IllegalStateException("SKIPPED: backend opencl is not present here: " + e.getMessage(), e);
                }
                if (platforms.isEmpty()) {
                    throw new IllegalStateException("SKIPPED: backend opencl is not present here: no OpenCL platform");
                }
                String wanted = System.getProperty(DeviceSelector.OPENCL_PLATFORM_PROPERTY);
                if (wanted == null || wanted.isBlank()) {
                    wanted = platforms.stream().filter(OpenClDevice.PlatformInfo::hasGpu).map(OpenClDevice.PlatformInfo::name)
                            .findFirst().orElse(platforms.get(0).name());
                }
                return report(OpenClDevice.open(wanted));
            }
            case "host":
                return report(DeviceSelector.open("host"));
            default:
                throw new IllegalArgumentException("backend '" + backend + "' is not one of host, opencl, cuda");
        }
    }

    private static Device report(Device d) {
        System.out.println("# device: " + d.name() + " (" + d.backend().id() + "), " + (d.totalMemory() >> 20) + " MiB");
        return d;
    }

    /** {@code n} distinct slots drawn uniformly from {@code [0, range)} (a partial Fisher-Yates shuffle). */
    static int[] uniqueUniform(int n, int range, long seed) {
        if (n > range) {
            throw new IllegalArgumentException(n + " unique slots cannot be drawn from " + range);
        }
        int[] all = new int[range];
        for (int i = 0; i < range; i++) {
            all[i] = i;
        }
        Random rnd = new Random(seed);
        for (int i = 0; i < n; i++) {
            int j = i + rnd.nextInt(range - i);
            int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        return java.util.Arrays.copyOf(all, n);
    }

    /** {@code n} slots drawn from a Zipf law with exponent {@code s} over {@code [0, range)}, rank mapped to a random slot. */
    static int[] zipf(int n, int range, double s, long seed) {
        double[] cdf = new double[range];
        double sum = 0;
        for (int k = 0; k < range; k++) {
            sum += 1.0 / Math.pow(k + 1, s);
            cdf[k] = sum;
        }
        int[] perm = uniqueUniform(range, range, seed ^ 0x5DEECE66DL);
        Random rnd = new Random(seed);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            double u = rnd.nextDouble() * sum;
            int k = java.util.Arrays.binarySearch(cdf, u);
            out[i] = perm[Math.min(range - 1, k < 0 ? -k - 1 : k)];
        }
        return out;
    }
}

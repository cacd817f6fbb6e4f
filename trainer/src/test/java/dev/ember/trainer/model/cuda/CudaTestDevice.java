package dev.ember.trainer.model.cuda;

import dev.ember.gpu.device.CudaDevice;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Opens CUDA device 0 for a test class, or skips it with the reason (missing library named) where there is none. */
final class CudaTestDevice {
    private CudaTestDevice() {
    }

    static CudaDevice open() {
        String why = CudaDevice.unavailableReason();
        assumeTrue(why == null, () -> "CUDA dense backend tests skipped: " + why);
        CudaDevice d = CudaDevice.open(0);
        System.out.println("CUDA dense backend tests on " + d.name());
        return d;
    }
}

package dev.ember.gpu.tiered;

import dev.ember.gpu.TestDevices;
import dev.ember.gpu.device.Device;

/** The tiered store on CUDA (skipped, with the reason, where there is no NVIDIA GPU). */
class CudaTieredStoreTest extends TieredStoreContract {
    @Override
    protected Device openDevice() {
        return TestDevices.cuda();
    }
}

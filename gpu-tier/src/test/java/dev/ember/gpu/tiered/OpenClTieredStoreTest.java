package dev.ember.gpu.tiered;

import dev.ember.gpu.TestDevices;
import dev.ember.gpu.device.Device;

/** The tiered store on OpenCL (POCL in CI, the GPU's platform where one is present). */
class OpenClTieredStoreTest extends TieredStoreContract {
    @Override
    protected Device openDevice() {
        return TestDevices.openCl();
    }
}

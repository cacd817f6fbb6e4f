package dev.ember.gpu.pool;

import dev.ember.gpu.device.Device;

/** The hot-tier contract on the OpenCl backend. */
class OpenClHotTierTest extends HotTierContract {
    @Override
    protected Device openDevice() {
        return dev.ember.gpu.TestDevices.openCl();
    }
}

package dev.ember.gpu.pool;

import dev.ember.gpu.device.Device;

/** The hot-tier contract on the Host backend. */
class HostHotTierTest extends HotTierContract {
    @Override
    protected Device openDevice() {
        return new dev.ember.gpu.device.HostDevice();
    }
}

package dev.ember.gpu.tiered;

import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.HostDevice;

/** The tiered store on the host device. */
class HostTieredStoreTest extends TieredStoreContract {
    @Override
    protected Device openDevice() {
        return new HostDevice();
    }
}

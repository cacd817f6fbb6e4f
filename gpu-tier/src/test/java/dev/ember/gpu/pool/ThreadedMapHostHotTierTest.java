package dev.ember.gpu.pool;

import dev.ember.cache.table.RowLayout;
import dev.ember.gpu.device.Device;

/**
 * The hot-tier contract on the Host backend with four map threads (the dev box and CI have two
 * cores, so the default there is the pool's thread alone): moves map rows on four stripes.
 */
class ThreadedMapHostHotTierTest extends HotTierContract {
    @Override
    protected Device openDevice() {
        return new dev.ember.gpu.device.HostDevice();
    }

    @Override
    protected SlotPool newPool(Device device, RowLayout layout, long budgetBytes) {
        return new SlotPool(device, layout, budgetBytes, 4);
    }
}

package dev.ember.gpu.pool;

import dev.ember.cache.table.RowLayout;
import dev.ember.gpu.device.Device;
import dev.ember.gpu.device.HostDevice;

/**
 * The hot-tier contract on the Host backend with four map threads woken for every move and
 * hashed row-to-slot maps for every table ({@link ThreadedMapHostHotTierTest}: the same with
 * direct indexes).
 */
class HashedMapHostHotTierTest extends HotTierContract {
    @Override
    protected Device openDevice() {
        return new HostDevice();
    }

    @Override
    protected SlotPool newPool(Device device, RowLayout layout, long budgetBytes) {
        return new SlotPool(device, layout, budgetBytes, 4, 0, RowSlotIndex.HASHED);
    }
}

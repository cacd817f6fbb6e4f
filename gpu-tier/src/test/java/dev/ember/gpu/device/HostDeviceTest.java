package dev.ember.gpu.device;

/** The device contract on the Host backend. */
class HostDeviceTest extends DeviceContract {
    @Override
    protected Device openDevice() {
        return new HostDevice();
    }
}

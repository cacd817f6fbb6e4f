package dev.ember.gpu.device;

/** The device contract on the OpenCl backend. */
class OpenClDeviceTest extends DeviceContract {
    @Override
    protected Device openDevice() {
        return dev.ember.gpu.TestDevices.openCl();
    }
}

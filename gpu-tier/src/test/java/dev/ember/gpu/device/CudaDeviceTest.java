package dev.ember.gpu.device;

/** The device contract on the Cuda backend. */
class CudaDeviceTest extends DeviceContract {
    @Override
    protected Device openDevice() {
        return dev.ember.gpu.TestDevices.cuda();
    }
}

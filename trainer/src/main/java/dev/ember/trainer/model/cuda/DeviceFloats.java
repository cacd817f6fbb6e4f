package dev.ember.trainer.model.cuda;

import org.bytedeco.javacpp.FloatPointer;

/**
 * A device address typed as {@code float*} for cuBLAS's JavaCPP signatures. Made once per operand
 * when the backend is built, so a GEMM call allocates nothing. It owns no memory: the buffer it
 * points into frees it.
 */
final class DeviceFloats extends FloatPointer {
    DeviceFloats(long deviceAddress) {
        super();
        this.address = deviceAddress;
    }

    /** Points this operand elsewhere (a scratch operand reused for offsets computed per call). */
    DeviceFloats at(long deviceAddress) {
        this.address = deviceAddress;
        return this;
    }
}

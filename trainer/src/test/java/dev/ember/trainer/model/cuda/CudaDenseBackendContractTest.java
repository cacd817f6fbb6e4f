package dev.ember.trainer.model.cuda;

import dev.ember.gpu.device.CudaDevice;
import dev.ember.trainer.model.DenseBackend;
import dev.ember.trainer.model.DenseBackendContract;
import dev.ember.trainer.model.ModelState;
import org.junit.jupiter.api.AfterAll;

/** The CUDA backend (fp32 GEMMs, CUDA graphs on) against the float64 reference: the whole contract. */
class CudaDenseBackendContractTest extends DenseBackendContract {
    private static CudaDevice device;

    /** The device, opened by the first test; each test without CUDA is skipped with the reason. */
    private static CudaDevice device() {
        if (device == null) {
            device = CudaTestDevice.open();
        }
        return device;
    }

    @AfterAll
    static void close() {
        if (device != null) {
            device.close();
        }
    }

    @Override
    protected DenseBackend create(ModelState initial, int maxBatch) {
        return new CudaDenseBackend(device(), initial, maxBatch);
    }
}

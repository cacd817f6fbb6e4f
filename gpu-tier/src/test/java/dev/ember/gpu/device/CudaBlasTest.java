package dev.ember.gpu.device;

import org.bytedeco.cuda.global.cublas;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The cuBLAS handle CudaDevice hands the trainer: one small SGEMM against a Java product. */
class CudaBlasTest {

    @Test
    void sgemmOnTheDevicesHandleMatchesJava() {
        try (CudaDevice d = (CudaDevice) dev.ember.gpu.TestDevices.cuda()) {
            int m = 3;
            int n = 2;
            int k = 4;
            float[] a = new float[m * k];
            float[] b = new float[k * n];
            for (int i = 0; i < a.length; i++) {
                a[i] = i - 5;
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = 2 * i - 7;
            }
            try (PinnedBuffer stage = d.allocatePinned(4096);
                 DeviceBuffer da = d.allocate(4L * a.length);
                 DeviceBuffer db = d.allocate(4L * b.length);
                 DeviceBuffer dc = d.allocate(4L * m * n)) {
                Stream s = d.defaultStream();
                stage.buffer().asFloatBuffer().put(a).put(b);
                d.copyToDevice(stage, 0, da, 0, 4L * a.length, s);
                d.copyToDevice(stage, 4L * a.length, db, 0, 4L * b.length, s);
                s.synchronize();
                FloatPointer alpha = new FloatPointer(1.0f);
                FloatPointer beta = new FloatPointer(0.0f);
                // Column-major: C (m x n) = A (m x k) * B (k x n).
                int rc = cublas.cublasSgemm_v2(d.cublas(), cublas.CUBLAS_OP_N, cublas.CUBLAS_OP_N, m, n, k, alpha,
                        d.floats(da), m, d.floats(db), k, beta, d.floats(dc), m);
                assertEquals(cublas.CUBLAS_STATUS_SUCCESS, rc, "cublasSgemm status");
                d.copyToHost(dc, 0, stage, 0, 4L * m * n, s);
                s.synchronize();
                FloatBuffer c = stage.buffer().asFloatBuffer();
                for (int col = 0; col < n; col++) {
                    for (int row = 0; row < m; row++) {
                        float want = 0;
                        for (int i = 0; i < k; i++) {
                            want += a[i * m + row] * b[col * k + i];
                        }
                        assertEquals(want, c.get(col * m + row), "C[" + row + "," + col + "] (small integers: exact)");
                    }
                }
            }
        }
    }
}

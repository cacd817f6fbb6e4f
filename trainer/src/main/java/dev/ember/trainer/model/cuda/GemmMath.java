package dev.ember.trainer.model.cuda;

import org.bytedeco.cuda.global.cublas;

/** How cuBLAS may compute the MLP products. */
public enum GemmMath {
    /** Plain fp32 ({@code CUBLAS_DEFAULT_MATH}): no TF32. The default; CPU and CUDA agree to about 1e-6. */
    FP32(cublas.CUBLAS_DEFAULT_MATH),
    /** fp32 with cuBLAS's pedantic mode ({@code CUBLAS_PEDANTIC_MATH}): no reduced-precision shortcuts anywhere. */
    FP32_PEDANTIC(cublas.CUBLAS_PEDANTIC_MATH),
    /**
     * TF32 tensor cores ({@code CUBLAS_TF32_TENSOR_OP_MATH}): inputs rounded to 10 mantissa bits,
     * about 8x the fp32 rate on an H100/H200; results differ from fp32 around 1e-3 relative.
     */
    TF32(cublas.CUBLAS_TF32_TENSOR_OP_MATH);

    private final int cublasMode;

    GemmMath(int cublasMode) {
        this.cublasMode = cublasMode;
    }

    /** The {@code cublasMath_t} value. */
    int cublasMode() {
        return cublasMode;
    }
}

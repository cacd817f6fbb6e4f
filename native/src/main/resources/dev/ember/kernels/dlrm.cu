// The DLRM dense model's kernels for CUDA (dev.ember.trainer.model.cuda.CudaDenseBackend): everything
// around the cuBLAS products. Compiled at run time by NVRTC exactly as ember.cu (--fmad=false, cached
// cubin per card). Element-wise arithmetic uses explicitly rounded intrinsics (__fadd_rn, __fmul_rn,
// __fdiv_rn, __fsqrt_rn) in the order the Java CPU backend uses, so the bias, ReLU, interaction,
// loss and optimizer steps round exactly as it does; only the GEMMs sum in cuBLAS's order.
//
// Layouts (row-major as the host; cuBLAS sees each as its column-major transpose):
//   activations  act[r * width + c]                     r < batch, c < width
//   pooled emb   emb[(t * maxBatch + r) * dim + d]      table t, sample r (the same for its gradient)
//   top input    top[r * topWidth + c]: c < dim the bottom output, then the n(n-1)/2 pairwise dots of
//                the n = tables + 1 vectors (bottom output first), pair (i, j), j < i, at
//                dim + i(i-1)/2 + j: (1,0), (2,0), (2,1), (3,0), ... as DLRM's li, lj lists
//   parameters   the flat ParameterLayout vector: per layer W[o * in + i] then b[o]

typedef long long i64;

// y[r][c] = relu?(y[r][c] + b[c]): the bias and activation after a layer's product.
extern "C" __global__ void dlrm_bias_relu(float* __restrict__ y, const float* __restrict__ bias,
        int rows, int cols, int relu)
{
    i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (i64) rows * cols) return;
    float v = __fadd_rn(y[i], bias[(int) (i % cols)]);
    if (relu) {
        v = fmaxf(v, 0.0f);
    }
    y[i] = v;
}

// g[i] = y[i] > 0 ? g[i] : 0: the gradient through a ReLU whose output is y.
extern "C" __global__ void dlrm_relu_backward(float* __restrict__ g, const float* __restrict__ y, i64 n)
{
    i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    g[i] = y[i] > 0.0f ? g[i] : 0.0f;
}

// Interaction vector k of sample r: the bottom output (k = 0) or table k-1's pooled vector.
__device__ __forceinline__ const float* dlrm_vector(const float* bottom, const float* emb, int k, int r,
        int maxBatch, int dim)
{
    return k == 0 ? bottom + (i64) r * dim : emb + ((i64) (k - 1) * maxBatch + r) * dim;
}

// One thread per (sample, top input column): copies the bottom output or computes one pairwise dot,
// summed over d ascending.
extern "C" __global__ void dlrm_interaction_forward(const float* __restrict__ bottom,
        const float* __restrict__ emb, float* __restrict__ top, int batch, int maxBatch, int tables, int dim)
{
    int pairs = (tables + 1) * tables / 2;
    int width = dim + pairs;
    i64 idx = (i64) blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (i64) batch * width) return;
    int r = (int) (idx / width);
    int c = (int) (idx % width);
    if (c < dim) {
        top[idx] = bottom[(i64) r * dim + c];
        return;
    }
    int j = c - dim;
    int i = 1;
    while (j >= i) {
        j -= i;
        i++;
    }
    const float* vi = dlrm_vector(bottom, emb, i, r, maxBatch, dim);
    const float* vj = dlrm_vector(bottom, emb, j, r, maxBatch, dim);
    float s = 0.0f;
    for (int d = 0; d < dim; d++) {
        s = __fadd_rn(s, __fmul_rn(vi[d], vj[d]));
    }
    top[idx] = s;
}

// One thread per (sample, vector k, coordinate d): the gradient of vector k from the dots' gradient,
// in the CPU's order (pairs by index: first (k, j) for j < k, then (i, k) for i > k). The bottom
// output's gradient adds the top input's pass-through columns; tables' go to embGrad.
extern "C" __global__ void dlrm_interaction_backward(const float* __restrict__ bottom,
        const float* __restrict__ emb, const float* __restrict__ gTop, float* __restrict__ gBottom,
        float* __restrict__ embGrad, int batch, int maxBatch, int tables, int dim)
{
    int n = tables + 1;
    int width = dim + n * (n - 1) / 2;
    i64 idx = (i64) blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (i64) batch * n * dim) return;
    int d = (int) (idx % dim);
    int k = (int) ((idx / dim) % n);
    int r = (int) (idx / ((i64) dim * n));
    const float* gz = gTop + (i64) r * width + dim;
    float s = 0.0f;
    int base = k * (k - 1) / 2;
    for (int j = 0; j < k; j++) {
        s = __fadd_rn(s, __fmul_rn(gz[base + j], dlrm_vector(bottom, emb, j, r, maxBatch, dim)[d]));
    }
    for (int i = k + 1; i < n; i++) {
        s = __fadd_rn(s, __fmul_rn(gz[i * (i - 1) / 2 + k], dlrm_vector(bottom, emb, i, r, maxBatch, dim)[d]));
    }
    if (k == 0) {
        gBottom[(i64) r * dim + d] = __fadd_rn(gTop[(i64) r * width + d], s);
    } else {
        embGrad[((i64) (k - 1) * maxBatch + r) * dim + d] = s;
    }
}

// Sigmoid and binary cross-entropy on the logit, per sample in double (as the CPU backend):
// loss = max(z,0) - z*y + log1p(exp(-|z|)); p = sigmoid(z); dz = (float) (p - y) * (1 / batch).
extern "C" __global__ void dlrm_loss(const float* __restrict__ logits, const float* __restrict__ labels,
        float* __restrict__ prob, double* __restrict__ loss, float* __restrict__ grad, int batch,
        float invBatch, int withGrad)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= batch) return;
    double z = (double) logits[r];
    double y = (double) labels[r];
    loss[r] = fmax(z, 0.0) - z * y + log1p(exp(-fabs(z)));
    double p = z >= 0.0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
    prob[r] = (float) p;
    if (withGrad) {
        grad[r] = __fmul_rn((float) (p - y), invBatch);
    }
}

#define DLRM_REDUCE_THREADS 1024

// One block of DLRM_REDUCE_THREADS threads: out[0] = sum of loss[0..batch) in a fixed order (thread t
// sums t, t+T, ... ascending, then a tree), so the same inputs always give the same bits.
extern "C" __global__ void dlrm_loss_sum(const double* __restrict__ loss, double* __restrict__ out, int batch)
{
    __shared__ double part[DLRM_REDUCE_THREADS];
    int t = threadIdx.x;
    double s = 0.0;
    for (int r = t; r < batch; r += DLRM_REDUCE_THREADS) {
        s += loss[r];
    }
    part[t] = s;
    __syncthreads();
    for (int half = DLRM_REDUCE_THREADS / 2; half > 0; half >>= 1) {
        if (t < half) {
            part[t] += part[t + half];
        }
        __syncthreads();
    }
    if (t == 0) {
        out[0] = part[0];
    }
}

// w -= lr * g; lr lives on the device so a captured graph sees the current rate.
extern "C" __global__ void dlrm_sgd(float* __restrict__ w, const float* __restrict__ g,
        const float* __restrict__ lr, i64 n)
{
    i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    w[i] = __fsub_rn(w[i], __fmul_rn(lr[0], g[i]));
}

// PyTorch's Adagrad: a += g*g; w -= lr * (g / (sqrt(a) + eps)).
extern "C" __global__ void dlrm_adagrad(float* __restrict__ w, const float* __restrict__ g,
        float* __restrict__ a, const float* __restrict__ lr, float eps, i64 n)
{
    i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float gi = g[i];
    float acc = __fadd_rn(a[i], __fmul_rn(gi, gi));
    a[i] = acc;
    w[i] = __fsub_rn(w[i], __fmul_rn(lr[0], __fdiv_rn(gi, __fadd_rn(__fsqrt_rn(acc), eps))));
}

// Bias gradient, first pass: partial[k][c] = sum of g[r][c] over the k-th chunk of chunkRows rows,
// ascending. Thread per (chunk, column): every column sum has (rows / chunkRows) parallel parts, so
// a narrow layer (one logit) is not summed by one thread over the whole batch.
extern "C" __global__ void dlrm_column_partials(const float* __restrict__ g, float* __restrict__ partial,
        int rows, int cols, int chunkRows)
{
    int chunks = (rows + chunkRows - 1) / chunkRows;
    i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (i64) chunks * cols) return;
    int c = (int) (i % cols);
    int k = (int) (i / cols);
    int r1 = min(rows, (k + 1) * chunkRows);
    float s = 0.0f;
    for (int r = k * chunkRows; r < r1; r++) {
        s = __fadd_rn(s, g[(i64) r * cols + c]);
    }
    partial[i] = s;
}

// Bias gradient, second pass: out[c] = sum of the chunks' partials, in chunk order (deterministic).
extern "C" __global__ void dlrm_column_total(const float* __restrict__ partial, float* __restrict__ out,
        int chunks, int cols)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    float s = 0.0f;
    for (int k = 0; k < chunks; k++) {
        s = __fadd_rn(s, partial[(i64) k * cols + c]);
    }
    out[c] = s;
}

// Split-K weight gradient, second pass: out[i] = sum of parts partial products, in part order
// (deterministic; the first pass is one cuBLAS strided-batched product per chunk of batch rows).
extern "C" __global__ void dlrm_sum_partials(const float* __restrict__ partial, float* __restrict__ out,
        i64 n, int parts)
{
    i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float s = partial[i];
    for (int k = 1; k < parts; k++) {
        s = __fadd_rn(s, partial[(i64) k * n + i]);
    }
    out[i] = s;
}

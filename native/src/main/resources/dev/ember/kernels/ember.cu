// Ember's hot-tier kernels for CUDA, compiled at run time by NVRTC (--fmad=false) for the card
// found. Every arithmetic step uses an explicitly rounded intrinsic (__fadd_rn, __fmul_rn,
// __fdiv_rn, __fsqrt_rn), which the compiler never contracts into a fused multiply-add, so the
// results match the Java reference and the OpenCL kernels (ember.cl) bit for bit.
//
// Slot memory (see dev.ember.gpu.pool.SlotPool): weights[slot * dim + c], state[slot * stateFloats + k],
// dirty[slot]. Rows crossing to the host are packed: dim weights then stateFloats of state.

#define EMBER_MAX_DIM 1024

typedef unsigned char uchar;
typedef unsigned long long u64;

// Pooled gather, dim % 4 == 0: lanesPerBag threads per bag, each owning float4 columns.
// Consecutive lanes read consecutive 16-byte pieces of a row: a row is read in full lines.
extern "C" __global__ void ember_gather_f4(const float* __restrict__ weights, int dim,
        const int* __restrict__ slots, const int* __restrict__ offsets, int bags,
        float* __restrict__ out, int lanesPerBag)
{
    long long tid = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    int bag = (int) (tid / lanesPerBag);
    int lane = (int) (tid % lanesPerBag);
    if (bag >= bags) return;
    int quads = dim >> 2;
    int begin = __ldg(offsets + bag);
    int end = __ldg(offsets + bag + 1);
    float4* dst = reinterpret_cast<float4*>(out + (size_t) bag * dim);
    for (int q = lane; q < quads; q += lanesPerBag) {
        float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        for (int i = begin; i < end; i++) {
            const float4* row = reinterpret_cast<const float4*>(weights + (size_t) __ldg(slots + i) * dim);
            float4 v = __ldg(row + q);
            acc.x = __fadd_rn(acc.x, v.x);
            acc.y = __fadd_rn(acc.y, v.y);
            acc.z = __fadd_rn(acc.z, v.z);
            acc.w = __fadd_rn(acc.w, v.w);
        }
        dst[q] = acc;
    }
}

// Pooled gather, any dim: lanesPerBag threads per bag, one float each.
extern "C" __global__ void ember_gather_f1(const float* __restrict__ weights, int dim,
        const int* __restrict__ slots, const int* __restrict__ offsets, int bags,
        float* __restrict__ out, int lanesPerBag)
{
    long long tid = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    int bag = (int) (tid / lanesPerBag);
    int lane = (int) (tid % lanesPerBag);
    if (bag >= bags) return;
    int begin = __ldg(offsets + bag);
    int end = __ldg(offsets + bag + 1);
    for (int c = lane; c < dim; c += lanesPerBag) {
        float acc = 0.0f;
        for (int i = begin; i < end; i++) {
            acc = __fadd_rn(acc, __ldg(weights + (size_t) __ldg(slots + i) * dim + c));
        }
        out[(size_t) bag * dim + c] = acc;
    }
}

#define EMBER_GRAD_BATCH 16

// The summed gradient of column c of unique row u: bags in the host's dedup order, from 0.
// A hot row of a small table occurs in hundreds of bags, and one load after another (bag, then
// gradient) made its sum a chain of memory latencies: the loads of EMBER_GRAD_BATCH occurrences
// are issued together first, then added one by one in the same order (same bits).
__device__ __forceinline__ float ember_grad(const float* __restrict__ grad, int dim,
        const int* __restrict__ occBag, int k0, int k1, int c)
{
    float g = 0.0f;
    int k = k0;
    for (; k + EMBER_GRAD_BATCH <= k1; k += EMBER_GRAD_BATCH) {
        float v[EMBER_GRAD_BATCH];
#pragma unroll
        for (int j = 0; j < EMBER_GRAD_BATCH; j++) {
            v[j] = __ldg(grad + (size_t) __ldg(occBag + k + j) * dim + c);
        }
#pragma unroll
        for (int j = 0; j < EMBER_GRAD_BATCH; j++) {
            g = __fadd_rn(g, v[j]);
        }
    }
    for (; k < k1; k++) {
        g = __fadd_rn(g, __ldg(grad + (size_t) __ldg(occBag + k) * dim + c));
    }
    return g;
}

// SGD over the dedup list: one block per unique row. w = w - (lr * g).
extern "C" __global__ void ember_apply_sgd(float* __restrict__ weights, uchar* __restrict__ dirty,
        int dim, const int* __restrict__ uniqueSlots, const int* __restrict__ occStart,
        const int* __restrict__ occBag, int uniques, const float* __restrict__ grad, float lr)
{
    int u = blockIdx.x;
    if (u >= uniques) return;
    int slot = uniqueSlots[u];
    int k0 = occStart[u];
    int k1 = occStart[u + 1];
    float* row = weights + (size_t) slot * dim;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        float g = ember_grad(grad, dim, occBag, k0, k1, c);
        row[c] = __fsub_rn(row[c], __fmul_rn(lr, g));
    }
    if (threadIdx.x == 0) dirty[slot] = 1;
}

// Row-wise Adagrad: s = sum_c g[c]^2 in column order (one thread: the order is the contract),
// a = a + s / dim, d = sqrt(a) + eps, w = w - (lr * g) / d.
extern "C" __global__ void ember_apply_rowwise_adagrad(float* __restrict__ weights,
        float* __restrict__ state, uchar* __restrict__ dirty, int dim,
        const int* __restrict__ uniqueSlots, const int* __restrict__ occStart,
        const int* __restrict__ occBag, int uniques, const float* __restrict__ grad,
        float lr, float eps)
{
    __shared__ float g[EMBER_MAX_DIM];
    __shared__ float denom;
    int u = blockIdx.x;
    if (u >= uniques) return;
    int slot = uniqueSlots[u];
    int k0 = occStart[u];
    int k1 = occStart[u + 1];
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        g[c] = ember_grad(grad, dim, occBag, k0, k1, c);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        float s = 0.0f;
        for (int c = 0; c < dim; c++) {
            s = __fadd_rn(s, __fmul_rn(g[c], g[c]));
        }
        float a = __fadd_rn(state[slot], __fdiv_rn(s, (float) dim));
        state[slot] = a;
        denom = __fadd_rn(__fsqrt_rn(a), eps);
        dirty[slot] = 1;
    }
    __syncthreads();
    float d = denom;
    float* row = weights + (size_t) slot * dim;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        row[c] = __fsub_rn(row[c], __fdiv_rn(__fmul_rn(lr, g[c]), d));
    }
}

// Adagrad: a[c] = a[c] + g^2, w[c] = w[c] - (lr * g) / (sqrt(a[c]) + eps).
extern "C" __global__ void ember_apply_adagrad(float* __restrict__ weights,
        float* __restrict__ state, uchar* __restrict__ dirty, int dim,
        const int* __restrict__ uniqueSlots, const int* __restrict__ occStart,
        const int* __restrict__ occBag, int uniques, const float* __restrict__ grad,
        float lr, float eps)
{
    int u = blockIdx.x;
    if (u >= uniques) return;
    int slot = uniqueSlots[u];
    int k0 = occStart[u];
    int k1 = occStart[u + 1];
    float* row = weights + (size_t) slot * dim;
    float* acc = state + (size_t) slot * dim;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        float g = ember_grad(grad, dim, occBag, k0, k1, c);
        float a = __fadd_rn(acc[c], __fmul_rn(g, g));
        acc[c] = a;
        row[c] = __fsub_rn(row[c], __fdiv_rn(__fmul_rn(lr, g), __fadd_rn(__fsqrt_rn(a), eps)));
    }
    if (threadIdx.x == 0) dirty[slot] = 1;
}

// Promotion: packed rows (device staging) into their slots; the rows start clean.
// One thread per float of the packed rows.
extern "C" __global__ void ember_write_rows(float* __restrict__ weights, float* __restrict__ state,
        uchar* __restrict__ dirty, int dim, int stateFloats, const int* __restrict__ slots,
        const float* __restrict__ rows, int count)
{
    int fpr = dim + stateFloats;
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long) count * fpr) return;
    int r = (int) (i / fpr);
    int c = (int) (i % fpr);
    size_t slot = (size_t) slots[r];
    if (c < dim) {
        weights[slot * dim + c] = rows[i];
    } else {
        state[slot * stateFloats + (c - dim)] = rows[i];
    }
    if (c == 0) dirty[slot] = 0;
}

// Demotion and checkpoints: slots into packed rows (device staging), plus each row's dirty flag.
extern "C" __global__ void ember_read_rows(const float* __restrict__ weights,
        const float* __restrict__ state, const uchar* __restrict__ dirty, int dim,
        int stateFloats, const int* __restrict__ slots, float* __restrict__ rows,
        uchar* __restrict__ flags, int count)
{
    int fpr = dim + stateFloats;
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long) count * fpr) return;
    int r = (int) (i / fpr);
    int c = (int) (i % fpr);
    size_t slot = (size_t) slots[r];
    rows[i] = c < dim ? weights[slot * dim + c] : state[slot * stateFloats + (c - dim)];
    if (c == 0) flags[r] = dirty[slot];
}

// Sets the dirty flag of the given slots to value.
extern "C" __global__ void ember_set_dirty(uchar* __restrict__ dirty, const int* __restrict__ slots,
        int count, int value)
{
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    dirty[slots[i]] = (uchar) value;
}

// Compaction when the pool shrinks: slot from[i] moves to to[i] (the two sets are disjoint).
extern "C" __global__ void ember_move_slots(float* __restrict__ weights, float* __restrict__ state,
        uchar* __restrict__ dirty, int dim, int stateFloats, const int* __restrict__ from,
        const int* __restrict__ to, int count)
{
    int fpr = dim + stateFloats;
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long) count * fpr) return;
    int r = (int) (i / fpr);
    int c = (int) (i % fpr);
    size_t s = (size_t) from[r];
    size_t d = (size_t) to[r];
    if (c < dim) {
        weights[d * dim + c] = weights[s * dim + c];
    } else {
        state[d * stateFloats + (c - dim)] = state[s * stateFloats + (c - dim)];
    }
    if (c == 0) dirty[d] = dirty[s];
}

// RowInit (cache-engine) on the device, for resident tables: SplitMix64's finaliser.
__device__ __forceinline__ u64 ember_mix(u64 z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// Rows [firstRow, firstRow + count) of table number `table` into slots firstSlot + (row - firstRow):
// weights from RowInit, state zero, clean. One thread per float.
extern "C" __global__ void ember_init_rows(float* __restrict__ weights, float* __restrict__ state,
        uchar* __restrict__ dirty, int dim, int stateFloats, long long firstSlot,
        long long firstRow, long long count, long long seed, int table, float scale)
{
    int fpr = dim + stateFloats;
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count * fpr) return;
    long long r = i / fpr;
    int c = (int) (i % fpr);
    size_t slot = (size_t) (firstSlot + r);
    if (c < dim) {
        u64 row = (u64) (firstRow + r);
        u64 tc = ((u64) (long long) table << 32) ^ (u64) (long long) c;
        u64 h = ember_mix((u64) seed ^ ember_mix(tc) ^ ember_mix(row + 0x632BE59BD9B4E019ULL));
        float u = __fmul_rn((float) (unsigned int) (h >> 40), 5.9604644775390625e-8f);
        weights[slot * dim + c] = __fmul_rn(__fsub_rn(__fmul_rn(2.0f, u), 1.0f), scale);
    } else {
        state[slot * stateFloats + (c - dim)] = 0.0f;
    }
    if (c == 0) dirty[slot] = 0;
}

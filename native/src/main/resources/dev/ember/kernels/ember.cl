// Ember's hot-tier kernels for OpenCL (same names, arguments and arithmetic as ember.cu).
// Built with -cl-fp32-correctly-rounded-divide-sqrt; contraction into fused multiply-add is off,
// so the results match the Java reference and the CUDA kernels bit for bit.
//
// Slot memory (see dev.ember.gpu.pool.SlotPool): weights[slot * dim + c], state[slot * stateFloats + k],
// dirty[slot]. Rows crossing to the host are packed: dim weights then stateFloats of state.
#pragma OPENCL FP_CONTRACT OFF

#define EMBER_MAX_DIM 1024

// Pooled gather, dim % 4 == 0: lanesPerBag work-items per bag, each owning float4 columns.
__kernel void ember_gather_f4(__global const float* restrict weights, int dim,
        __global const int* restrict slots, __global const int* restrict offsets, int bags,
        __global float* restrict out, int lanesPerBag)
{
    long tid = get_global_id(0);
    int bag = (int) (tid / lanesPerBag);
    int lane = (int) (tid % lanesPerBag);
    if (bag >= bags) return;
    int quads = dim >> 2;
    int begin = offsets[bag];
    int end = offsets[bag + 1];
    for (int q = lane; q < quads; q += lanesPerBag) {
        float4 acc = (float4) (0.0f, 0.0f, 0.0f, 0.0f);
        for (int i = begin; i < end; i++) {
            acc = acc + vload4(q, weights + (size_t) slots[i] * dim);
        }
        vstore4(acc, q, out + (size_t) bag * dim);
    }
}

// Pooled gather, any dim: lanesPerBag work-items per bag, one float each.
__kernel void ember_gather_f1(__global const float* restrict weights, int dim,
        __global const int* restrict slots, __global const int* restrict offsets, int bags,
        __global float* restrict out, int lanesPerBag)
{
    long tid = get_global_id(0);
    int bag = (int) (tid / lanesPerBag);
    int lane = (int) (tid % lanesPerBag);
    if (bag >= bags) return;
    int begin = offsets[bag];
    int end = offsets[bag + 1];
    for (int c = lane; c < dim; c += lanesPerBag) {
        float acc = 0.0f;
        for (int i = begin; i < end; i++) {
            acc = acc + weights[(size_t) slots[i] * dim + c];
        }
        out[(size_t) bag * dim + c] = acc;
    }
}

// The summed gradient of column c of one unique row: bags in the host's dedup order, from 0.
inline float ember_grad(__global const float* restrict grad, int dim,
        __global const int* restrict occBag, int k0, int k1, int c)
{
    float g = 0.0f;
    for (int k = k0; k < k1; k++) {
        g = g + grad[(size_t) occBag[k] * dim + c];
    }
    return g;
}

// SGD over the dedup list: one work-group per unique row. w = w - (lr * g).
__kernel void ember_apply_sgd(__global float* restrict weights, __global uchar* restrict dirty,
        int dim, __global const int* restrict uniqueSlots, __global const int* restrict occStart,
        __global const int* restrict occBag, int uniques, __global const float* restrict grad,
        float lr)
{
    int u = get_group_id(0);
    if (u >= uniques) return;
    int slot = uniqueSlots[u];
    int k0 = occStart[u];
    int k1 = occStart[u + 1];
    __global float* row = weights + (size_t) slot * dim;
    for (int c = get_local_id(0); c < dim; c += get_local_size(0)) {
        float g = ember_grad(grad, dim, occBag, k0, k1, c);
        float step = lr * g;
        row[c] = row[c] - step;
    }
    if (get_local_id(0) == 0) dirty[slot] = 1;
}

// Row-wise Adagrad: s summed in column order by one work-item (the order is the contract).
__kernel void ember_apply_rowwise_adagrad(__global float* restrict weights,
        __global float* restrict state, __global uchar* restrict dirty, int dim,
        __global const int* restrict uniqueSlots, __global const int* restrict occStart,
        __global const int* restrict occBag, int uniques, __global const float* restrict grad,
        float lr, float eps)
{
    __local float g[EMBER_MAX_DIM];
    __local float denom[1];
    int u = get_group_id(0);
    if (u >= uniques) return;
    int slot = uniqueSlots[u];
    int k0 = occStart[u];
    int k1 = occStart[u + 1];
    for (int c = get_local_id(0); c < dim; c += get_local_size(0)) {
        g[c] = ember_grad(grad, dim, occBag, k0, k1, c);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (get_local_id(0) == 0) {
        float s = 0.0f;
        for (int c = 0; c < dim; c++) {
            float sq = g[c] * g[c];
            s = s + sq;
        }
        float a = state[slot] + s / (float) dim;
        state[slot] = a;
        denom[0] = sqrt(a) + eps;
        dirty[slot] = 1;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float d = denom[0];
    __global float* row = weights + (size_t) slot * dim;
    for (int c = get_local_id(0); c < dim; c += get_local_size(0)) {
        float step = lr * g[c];
        row[c] = row[c] - step / d;
    }
}

// Adagrad: a[c] = a[c] + g^2, w[c] = w[c] - (lr * g) / (sqrt(a[c]) + eps).
__kernel void ember_apply_adagrad(__global float* restrict weights,
        __global float* restrict state, __global uchar* restrict dirty, int dim,
        __global const int* restrict uniqueSlots, __global const int* restrict occStart,
        __global const int* restrict occBag, int uniques, __global const float* restrict grad,
        float lr, float eps)
{
    int u = get_group_id(0);
    if (u >= uniques) return;
    int slot = uniqueSlots[u];
    int k0 = occStart[u];
    int k1 = occStart[u + 1];
    __global float* row = weights + (size_t) slot * dim;
    __global float* acc = state + (size_t) slot * dim;
    for (int c = get_local_id(0); c < dim; c += get_local_size(0)) {
        float g = ember_grad(grad, dim, occBag, k0, k1, c);
        float sq = g * g;
        float a = acc[c] + sq;
        acc[c] = a;
        float step = lr * g;
        float d = sqrt(a) + eps;
        row[c] = row[c] - step / d;
    }
    if (get_local_id(0) == 0) dirty[slot] = 1;
}

// Promotion: packed rows (device staging) into their slots; the rows start clean.
__kernel void ember_write_rows(__global float* restrict weights, __global float* restrict state,
        __global uchar* restrict dirty, int dim, int stateFloats, __global const int* restrict slots,
        __global const float* restrict rows, int count)
{
    int fpr = dim + stateFloats;
    long i = get_global_id(0);
    if (i >= (long) count * fpr) return;
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
__kernel void ember_read_rows(__global const float* restrict weights,
        __global const float* restrict state, __global const uchar* restrict dirty, int dim,
        int stateFloats, __global const int* restrict slots, __global float* restrict rows,
        __global uchar* restrict flags, int count)
{
    int fpr = dim + stateFloats;
    long i = get_global_id(0);
    if (i >= (long) count * fpr) return;
    int r = (int) (i / fpr);
    int c = (int) (i % fpr);
    size_t slot = (size_t) slots[r];
    rows[i] = c < dim ? weights[slot * dim + c] : state[slot * stateFloats + (c - dim)];
    if (c == 0) flags[r] = dirty[slot];
}

// Sets the dirty flag of the given slots to value.
__kernel void ember_set_dirty(__global uchar* restrict dirty, __global const int* restrict slots,
        int count, int value)
{
    long i = get_global_id(0);
    if (i >= count) return;
    dirty[slots[i]] = (uchar) value;
}

// Compaction when the pool shrinks: slot from[i] moves to to[i] (the two sets are disjoint).
__kernel void ember_move_slots(__global float* restrict weights, __global float* restrict state,
        __global uchar* restrict dirty, int dim, int stateFloats, __global const int* restrict from,
        __global const int* restrict to, int count)
{
    int fpr = dim + stateFloats;
    long i = get_global_id(0);
    if (i >= (long) count * fpr) return;
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
inline ulong ember_mix(ulong z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    return z ^ (z >> 31);
}

__kernel void ember_init_rows(__global float* restrict weights, __global float* restrict state,
        __global uchar* restrict dirty, int dim, int stateFloats, long firstSlot,
        long firstRow, long count, long seed, int table, float scale)
{
    int fpr = dim + stateFloats;
    long i = get_global_id(0);
    if (i >= count * fpr) return;
    long r = i / fpr;
    int c = (int) (i % fpr);
    size_t slot = (size_t) (firstSlot + r);
    if (c < dim) {
        ulong row = (ulong) (firstRow + r);
        ulong tc = ((ulong) (long) table << 32) ^ (ulong) (long) c;
        ulong h = ember_mix((ulong) seed ^ ember_mix(tc) ^ ember_mix(row + 0x632BE59BD9B4E019UL));
        float u = (float) (uint) (h >> 40) * 5.9604644775390625e-8f;
        float two_u = 2.0f * u;
        weights[slot * dim + c] = (two_u - 1.0f) * scale;
    } else {
        state[slot * stateFloats + (c - dim)] = 0.0f;
    }
    if (c == 0) dirty[slot] = 0;
}

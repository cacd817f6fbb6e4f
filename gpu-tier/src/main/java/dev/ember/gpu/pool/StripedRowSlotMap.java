package dev.ember.gpu.pool;

import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;

/**
 * A table's row-to-slot map split by row hash into {@value #STRIPES} {@link RowSlotMap}s, so that
 * bulk operations (translate a batch's ids, map or unmap the rows of a promotion or demotion)
 * run on several cores: each stripe is touched by one thread at a time, and every index of the
 * caller's arrays belongs to exactly one stripe. Ranges under {@value #PARALLEL_FROM} rows run on
 * the calling thread.
 *
 * <p>Why: one map operation costs 10-30 ns (a cache miss into a table of 16-byte entries); at
 * 256-byte rows a single thread then caps promotion at ~10-25 GB/s, under half of a PCIe 5 link,
 * and a 65K-id batch spends ~0.7 ms translating. The stripe tasks are allocated once and reused.
 */
final class StripedRowSlotMap implements AutoCloseable {
    static final int STRIPES = 16;
    static final int PARALLEL_FROM = 4096;

    private final RowSlotMap[] stripes = new RowSlotMap[STRIPES];
    private final StripeTask[] tasks = new StripeTask[STRIPES];

    StripedRowSlotMap(int expected) {
        for (int s = 0; s < STRIPES; s++) {
            stripes[s] = new RowSlotMap(Math.max(16, expected / STRIPES));
            tasks[s] = new StripeTask(s);
        }
    }

    private static int stripe(long row) {
        return (int) ((row * 0xD6E8FEB86659FD93L) >>> 60);
    }

    int size() {
        int n = 0;
        for (RowSlotMap m : stripes) {
            n += m.size();
        }
        return n;
    }

    int get(long row) {
        return stripes[stripe(row)].get(row);
    }

    boolean putIfAbsent(long row, int slot) {
        return stripes[stripe(row)].putIfAbsent(row, slot);
    }

    void replace(long row, int slot) {
        stripes[stripe(row)].replace(row, slot);
    }

    int remove(long row) {
        return stripes[stripe(row)].remove(row);
    }

    void forEach(RowSlotMap.Visitor visitor) {
        for (RowSlotMap m : stripes) {
            m.forEach(visitor);
        }
    }

    /**
     * {@code slots[i] = slot of rows[i]} for i in {@code [from, to)}. Returns -1, or the smallest
     * index whose row is not mapped.
     */
    int lookupAll(long[] rows, int from, int to, int[] slots) {
        return run(Op.LOOKUP, rows, from, to, slots);
    }

    /**
     * Maps {@code rows[i]} to {@code slots[i]} for i in {@code [from, to)}. Returns -1, or the
     * smallest index whose row was already mapped; then every insert of this call is undone.
     */
    int insertAll(long[] rows, int from, int to, int[] slots) {
        int bad = run(Op.INSERT, rows, from, to, slots);
        if (bad >= 0) {
            // Each stripe inserted its rows in index order up to (not including) its own failure.
            for (int st = 0; st < STRIPES; st++) {
                int end = tasks[st].failed >= 0 ? tasks[st].failed : to;
                for (int i = from; i < end; i++) {
                    if (stripe(rows[i]) == st) {
                        stripes[st].remove(rows[i]);
                    }
                }
            }
        }
        return bad;
    }

    /**
     * Unmaps {@code rows[i]} into {@code slots[i]} for i in {@code [from, to)}. Returns -1, or the
     * smallest index whose row was not mapped; then every removal of this call is undone.
     */
    int removeAll(long[] rows, int from, int to, int[] slots) {
        int bad = run(Op.REMOVE, rows, from, to, slots);
        if (bad >= 0) {
            // Each stripe removed its rows in index order up to (not including) its own failure.
            for (int st = 0; st < STRIPES; st++) {
                int end = tasks[st].failed >= 0 ? tasks[st].failed : to;
                for (int i = from; i < end; i++) {
                    if (stripe(rows[i]) == st) {
                        stripes[st].putIfAbsent(rows[i], slots[i]);
                    }
                }
            }
        }
        return bad;
    }

    private enum Op { LOOKUP, INSERT, REMOVE }

    private int run(Op op, long[] rows, int from, int to, int[] slots) {
        for (StripeTask t : tasks) {
            t.set(op, rows, from, to, slots);
        }
        if (to - from < PARALLEL_FROM) {
            for (StripeTask t : tasks) {
                t.work();
            }
        } else {
            ForkJoinTask.invokeAll(tasks);
        }
        int bad = -1;
        for (StripeTask t : tasks) {
            if (t.failed >= 0 && (bad < 0 || t.failed < bad)) {
                bad = t.failed;
            }
            t.reinitialize();
        }
        return bad;
    }

    /** One stripe's share of a bulk operation; reused (reinitialized) between operations. */
    private final class StripeTask extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final int stripe;
        private Op op;
        private long[] rows;
        private int from;
        private int to;
        private int[] slots;
        int failed;

        StripeTask(int stripe) {
            this.stripe = stripe;
        }

        void set(Op op, long[] rows, int from, int to, int[] slots) {
            this.op = op;
            this.rows = rows;
            this.from = from;
            this.to = to;
            this.slots = slots;
            this.failed = -1;
        }

        @Override
        protected void compute() {
            work();
        }

        void work() {
            RowSlotMap m = stripes[stripe];
            for (int i = from; i < to; i++) {
                long row = rows[i];
                if (stripe(row) != stripe) {
                    continue;
                }
                switch (op) {
                    case LOOKUP: {
                        int s = m.get(row);
                        if (s < 0) {
                            failed = i;
                            return;
                        }
                        slots[i] = s;
                        break;
                    }
                    case INSERT:
                        if (!m.putIfAbsent(row, slots[i])) {
                            failed = i;
                            return;
                        }
                        break;
                    case REMOVE: {
                        int s = m.remove(row);
                        if (s < 0) {
                            failed = i;
                            return;
                        }
                        slots[i] = s;
                        break;
                    }
                    default:
                        throw new AssertionError(op);
                }
            }
        }
    }

    @Override
    public void close() {
        for (RowSlotMap m : stripes) {
            m.close();
        }
    }
}

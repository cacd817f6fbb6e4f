package dev.ember.jmh.cold;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/** The cold-tier benchmarks' aux counters: rows per second (wall clock) and CPU nanoseconds per row. */
public final class ColdCounters {
    private ColdCounters() {
    }

    /** Rows moved by the op just run (JMH reports its average as {@code rows}, per second). */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Rows {
        public long rows;
    }

    /** CPU nanoseconds spent (caller and pool threads) and rows moved: cpuNanos / cpuRows = CPU ns per row. */
    @AuxCounters(AuxCounters.Type.EVENTS)
    @State(Scope.Thread)
    public static class Cpu {
        public long cpuNanos;
        public long cpuRows;
    }

    /** Counts one op of {@code rowCount} rows that took {@code cpuNanos} of CPU. */
    static void count(Rows rows, Cpu cpu, long rowCount, long cpuNanos) {
        cpu.cpuNanos += cpuNanos;
        cpu.cpuRows += rowCount;
        rows.rows += rowCount;
    }
}

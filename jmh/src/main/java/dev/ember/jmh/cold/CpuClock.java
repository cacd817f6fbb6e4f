package dev.ember.jmh.cold;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * CPU time of the calling thread plus given worker threads. On a shared, oversubscribed machine
 * wall-clock rates swing with other people's load; CPU nanoseconds per row move far less.
 */
final class CpuClock {
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private final long[] workers;

    CpuClock(long[] workers) {
        this.workers = workers.clone();
    }

    long nanos() {
        long t = threads.getCurrentThreadCpuTime();
        for (long id : workers) {
            t += threads.getThreadCpuTime(id);
        }
        return t;
    }
}

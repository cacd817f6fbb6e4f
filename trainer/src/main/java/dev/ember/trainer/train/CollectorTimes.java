package dev.ember.trainer.train;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.List;

/**
 * The JVM's collectors' counts and times at one moment, to say what collected while a mode trained
 * (G1's pauses stopped the step thread for 1.4-14 ms on the H200; ZGC's "Pauses" bean counts its
 * short ones and its "Cycles" bean the concurrent work, which stops no thread).
 */
final class CollectorTimes {
    private final String[] names;
    private final long[] counts;
    private final long[] millis;

    private CollectorTimes(List<GarbageCollectorMXBean> beans) {
        this.names = new String[beans.size()];
        this.counts = new long[beans.size()];
        this.millis = new long[beans.size()];
        for (int i = 0; i < beans.size(); i++) {
            names[i] = beans.get(i).getName();
            counts[i] = beans.get(i).getCollectionCount();
            millis[i] = beans.get(i).getCollectionTime();
        }
    }

    /** Where collector {@code name} is in {@code t}, or -1 (a collector that was not there counts from 0). */
    private static int indexOf(CollectorTimes t, String name) {
        return java.util.Arrays.asList(t.names).indexOf(name);
    }

    /** The collectors' counts and times now. */
    static CollectorTimes now() {
        return new CollectorTimes(ManagementFactory.getGarbageCollectorMXBeans());
    }

    /** Collections since {@code before}, each collector's: "G1 Young Generation 12 in 45 ms, G1 Old Generation 0 in 0 ms". */
    String since(CollectorTimes before) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < counts.length; i++) {
            int j = indexOf(before, names[i]);
            long c = counts[i] - (j < 0 ? 0 : before.counts[j]);
            long ms = millis[i] - (j < 0 ? 0 : before.millis[j]);
            b.append(i == 0 ? "" : ", ").append(names[i]).append(' ').append(c).append(" in ").append(ms).append(" ms");
        }
        return b.length() == 0 ? "no collector reported" : b.toString();
    }

    /** Collections counted since {@code before}, all collectors together. */
    long collectionsSince(CollectorTimes before) {
        long n = 0;
        for (int i = 0; i < counts.length; i++) {
            int j = indexOf(before, names[i]);
            n += counts[i] - (j < 0 ? 0 : before.counts[j]);
        }
        return n;
    }
}

package dev.ember.trainer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class CollectorTimesTest {
    @Test
    void aRequestedCollectionIsCountedUnderTheJvmsOwnCollectorNames() {
        CollectorTimes before = CollectorTimes.now();
        assertEquals(0, before.collectionsSince(before));
        System.gc();
        CollectorTimes after = CollectorTimes.now();
        assertTrue(after.collectionsSince(before) >= 1, after.since(before));
        String text = after.since(before);
        for (var bean : ManagementFactory.getGarbageCollectorMXBeans()) {
            assertTrue(text.contains(bean.getName() + " "), bean.getName() + " missing from " + text);
        }
        assertTrue(text.matches("([A-Za-z0-9 ]+ \\d+ in \\d+ ms)(, [A-Za-z0-9 ]+ \\d+ in \\d+ ms)*"), text);
    }
}

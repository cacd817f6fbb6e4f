package dev.ember.cache.hotset;

import org.junit.jupiter.api.Test;
import org.roaringbitmap.RoaringBitmap;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Copy-on-write publication against plain Roaring algebra on random bitmaps of every container kind. */
class CopyOnWriteTest {

    @Test
    void matchesOrAndNotAndNeverChangesTheBase() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int trial = 0; trial < 300; trial++) {
            RoaringBitmap base = new RoaringBitmap();
            int keys = 1 + rnd.nextInt(12);
            for (int k = 0; k < keys; k++) {
                int key = rnd.nextInt(40);
                switch (rnd.nextInt(3)) {
                    case 0 -> { // sparse: an array container
                        for (int i = 0; i < 1 + rnd.nextInt(50); i++) {
                            base.add((key << 16) | rnd.nextInt(1 << 16));
                        }
                    }
                    case 1 -> { // dense: a bitmap container
                        for (int i = 0; i < 6000; i++) {
                            base.add((key << 16) | rnd.nextInt(1 << 16));
                        }
                    }
                    default -> base.add((long) key << 16, ((long) key << 16) + 1 + rnd.nextInt(60000)); // a run
                }
            }
            if (rnd.nextBoolean()) {
                base.runOptimize();
            }
            RoaringBitmap before = base.clone();
            // Removes: rows of the base and rows it lacks (also under keys it lacks); adds: rows it lacks.
            int[] all = base.toArray();
            int[] remove = rnd.ints(rnd.nextInt(200), 0, Math.max(1, all.length)).map(i -> all.length == 0 ? 0 : all[i]).toArray();
            int[] absent = rnd.ints(rnd.nextInt(40), 0, 50 << 16).toArray();
            remove = sortedDistinct(concat(remove, absent));
            int[] add = sortedDistinct(rnd.ints(rnd.nextInt(200), 0, 50 << 16).toArray());

            RoaringBitmap got = CopyOnWrite.with(base, add, 0, add.length, remove, 0, remove.length);
            RoaringBitmap want = base.clone();
            want.or(RoaringBitmap.bitmapOf(add));
            want.andNot(RoaringBitmap.bitmapOf(remove));
            assertEquals(want, got, "trial " + trial);
            assertEquals(before, base, "trial " + trial + ": the base changed");
            assertTrue(got.validate(), "trial " + trial + ": a valid bitmap");
        }
    }

    @Test
    void untouchedContainersAreSharedNotCopied() {
        RoaringBitmap base = new RoaringBitmap();
        base.add(0L, 70_000L);            // keys 0 and 1
        base.add(5L << 16, (5L << 16) + 9000); // key 5
        RoaringBitmap next = CopyOnWrite.with(base, new int[] {(1 << 16) + 9000}, 0, 1, new int[0], 0, 0);
        var p = base.getContainerPointer();
        var q = next.getContainerPointer();
        assertTrue(p.getContainer() == q.getContainer(), "key 0 shared");
        p.advance();
        q.advance();
        assertTrue(p.getContainer() != q.getContainer(), "key 1 (touched) copied");
        p.advance();
        q.advance();
        assertTrue(p.getContainer() == q.getContainer(), "key 5 shared");
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static int[] sortedDistinct(int[] a) {
        return Arrays.stream(a).sorted().distinct().toArray();
    }
}

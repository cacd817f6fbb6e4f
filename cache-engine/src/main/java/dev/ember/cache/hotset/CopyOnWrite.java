package dev.ember.cache.hotset;

import org.roaringbitmap.ArrayContainer;
import org.roaringbitmap.Container;
import org.roaringbitmap.ContainerPointer;
import org.roaringbitmap.RoaringBitmap;

/**
 * The next generation of one table's hot rows in time proportional to the rows that change, not
 * to the hot set: a Roaring bitmap is a sorted array of 16-bit keys, each with a container of the
 * rows that share those high bits. The new bitmap takes every unchanged container of the old one
 * by reference and only the containers a move touches are cloned and changed. Containers are
 * never written once published, so sharing them between generations is safe: readers of either
 * generation see fixed bytes. A touched container is rebuilt with one linear {@code or} and
 * {@code andNot} (new containers), never row by row (an array container would shift per row).
 *
 * <pre>
 *  generation g:    keys | 0 | 3 | 7 | 9 |      containers | c0 | c3 | c7 | c9 |
 *  moves in key 7:                                                  v c7.or(adds).andNot(removes)
 *  generation g+1:  keys | 0 | 3 | 7 | 9 |      containers | c0 | c3 | c7'| c9 |   (c0, c3, c9 shared)
 * </pre>
 *
 * Cost: one reference per container of the table (a 40M-row table has at most 611) plus one
 * linear pass over each touched container (at most one per changed row, each at most 8 KB).
 */
final class CopyOnWrite {
    private static final int NONE = 1 << 16;

    private CopyOnWrite() {
    }

    /**
     * {@code base} with rows {@code add[addFrom..addTo)} added and {@code remove[removeFrom..removeTo)}
     * removed; both ranges ascending. {@code base} is not changed.
     */
    static RoaringBitmap with(RoaringBitmap base, int[] add, int addFrom, int addTo, int[] remove, int removeFrom,
                              int removeTo) {
        RoaringBitmap out = new RoaringBitmap();
        ContainerPointer p = base.getContainerPointer();
        int a = addFrom;
        int r = removeFrom;
        while (true) {
            Container c = p.getContainer();
            int keyP = c == null ? NONE : p.key();
            int keyA = a < addTo ? add[a] >>> 16 : NONE;
            int keyR = r < removeTo ? remove[r] >>> 16 : NONE;
            int key = Math.min(keyP, keyA);
            if (keyR < key) {
                while (r < removeTo && remove[r] >>> 16 == keyR) {
                    r++; // rows of a key the bitmap lacks: nothing to remove
                }
                continue;
            }
            if (key == NONE) {
                return out;
            }
            if (keyP != key) {
                c = null;
            }
            if (keyA == key || keyR == key) {
                // The chunk's rows of this key as small containers (ascending: each add appends),
                // then one linear or/andNot that returns a new container: the shared one is never written.
                Container plus = new ArrayContainer();
                while (a < addTo && add[a] >>> 16 == key) {
                    plus = plus.add((char) add[a++]);
                }
                Container minus = new ArrayContainer();
                while (r < removeTo && remove[r] >>> 16 == key) {
                    minus = minus.add((char) remove[r++]);
                }
                Container changed = c == null ? plus : plus.isEmpty() ? c : c.or(plus);
                if (!minus.isEmpty()) {
                    // A container made here is this generation's own: changed in place.
                    changed = changed == c ? c.andNot(minus) : changed.iandNot(minus);
                }
                c = changed == c ? c : changed.runOptimize();
            }
            if (keyP == key) {
                p.advance();
            }
            if (c != null && !c.isEmpty()) {
                out.append((char) key, c);
            }
        }
    }
}

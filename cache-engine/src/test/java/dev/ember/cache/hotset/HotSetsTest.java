package dev.ember.cache.hotset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.cache.batch.PooledBatch;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class HotSetsTest {
    static final int TABLES = HotSetTest.TABLES.size();

    @Test
    void chunksCoverTheDifferenceExactlyOnceAndPublishOneGenerationEach() {
        SplittableRandom rnd = new SplittableRandom(3);
        for (int round = 0; round < 10; round++) {
            List<Set<Long>> cur = HotSetTest.randomSets(rnd, 0.2);
            List<Set<Long>> next = HotSetTest.randomSets(rnd, 0.2);
            HotSet start = HotSetTest.hotSet(5, cur);
            HotSet target = HotSetTest.hotSet(99, next);
            HotSets sets = new HotSets(start);
            sets.retarget(target);
            long limit = Math.max(start.hotBytes(), target.hotBytes());
            List<Set<Long>> promoted = emptySets();
            List<Set<Long>> demoted = emptySets();
            MoveChunk chunk = new MoveChunk(1 + rnd.nextInt(5_000));
            long generation = start.generation();
            while (sets.planChunk(chunk)) {
                assertTrue(chunk.size() <= chunk.capacity());
                assertEquals(generation, chunk.basedOn());
                for (int i = 0; i < chunk.demoteCount(); i++) {
                    assertTrue(demoted.get(chunk.demoteTable(i)).add(chunk.demoteRow(i)), "demoted twice");
                }
                for (int i = 0; i < chunk.promoteCount(); i++) {
                    assertTrue(promoted.get(chunk.promoteTable(i)).add(chunk.promoteRow(i)), "promoted twice");
                }
                HotSet published = sets.commit(chunk);
                assertEquals(++generation, published.generation());
                assertTrue(published.hotBytes() <= limit, "hot bytes past max(current, target)");
            }
            assertTrue(sets.settled());
            for (int t = 0; t < TABLES; t++) {
                Set<Long> p = new HashSet<>(next.get(t));
                p.removeAll(cur.get(t));
                Set<Long> d = new HashSet<>(cur.get(t));
                d.removeAll(next.get(t));
                assertEquals(p, promoted.get(t));
                assertEquals(d, demoted.get(t));
            }
            assertTrue(sets.current().sameRows(target));
            assertTrue(start.sameRows(HotSetTest.hotSet(5, cur)), "an old generation never changes");
        }
    }

    /**
     * Right after a retarget most rows to demote may be in use: a planning passes them over once,
     * at most a chunk's worth after its first planned move, and the next takes up where it left off
     * rather than checking them again; released, they move like the rest.
     */
    @Test
    void planningPassesRowsInUseOverOnceAndTakesUpWhereItLeftOff() {
        List<Set<Long>> cur = emptySets();
        for (long r = 0; r < 1_000; r++) {
            cur.get(1).add(r);
        }
        HotSets sets = new HotSets(HotSetTest.hotSet(0, cur));
        boolean[] tracking = {true};
        sets.trackRowsInUse((t, row) -> tracking[0] && t == 1 && (row < 600 || (row > 650 && row < 900 && row % 10 != 0)));
        sets.retarget(HotSetTest.hotSet(1, emptySets()));
        MoveChunk chunk = new MoveChunk(50);
        assertTrue(sets.planChunk(chunk));
        assertEquals(1, chunk.size(), "the first row not in use closes a chunk that passed 600 over");
        assertEquals(600, chunk.demoteRow(0));
        assertEquals(600, sets.deferredMoves());
        sets.commit(chunk);
        assertTrue(sets.planChunk(chunk));
        assertEquals(50, chunk.size());
        assertEquals(601, chunk.demoteRow(0), "taken up after the rows passed over, not from the first");
        assertEquals(600, sets.deferredMoves(), "rows passed over are not checked again at once");
        sets.commit(chunk);
        assertTrue(sets.planChunk(chunk)); // 660, 670, ..., 700, then the 50th row passed over (705) closes it
        assertEquals(600 + 50, sets.deferredMoves(), "at most a chunk's worth passed over once a move is planned");
        assertEquals(5, chunk.size());
        assertEquals(700, chunk.demoteRow(4));
        for (int i = 1; i < chunk.size(); i++) {
            assertTrue(chunk.demoteRow(i) > chunk.demoteRow(i - 1), "a table's rows ascend in a chunk");
        }
        sets.commit(chunk);
        tracking[0] = false; // the batches were applied
        while (sets.planChunk(chunk)) {
            sets.commit(chunk);
        }
        assertTrue(sets.settled());
        assertTrue(sets.current().sameRows(HotSetTest.hotSet(1, emptySets())));
    }

    @Test
    void aBoundedPlanStopsAtItsDeadlineAndTheNextTakesUpWhereItStopped() {
        List<Set<Long>> cur = emptySets();
        for (long r = 0; r < 1_000; r++) {
            cur.get(1).add(r);
        }
        HotSets sets = new HotSets(HotSetTest.hotSet(0, cur));
        sets.trackRowsInUse((t, row) -> t == 1 && row % 2 == 1);
        sets.retarget(HotSetTest.hotSet(1, emptySets()));
        MoveChunk chunk = new MoveChunk(200);
        chunk.bounded(true);
        chunk.deadline(System.nanoTime() - 1); // already past: the plan reads the clock after CLOCK_ROWS rows
        assertTrue(sets.planChunk(chunk));
        assertEquals(HotSets.CLOCK_ROWS / 2, chunk.size(), "half of the first rows looked at are in use");
        assertEquals(HotSets.CLOCK_ROWS / 2, sets.deferredMoves());
        assertEquals(1, sets.lateStops());
        sets.commit(chunk);
        chunk.deadline(0); // none
        assertTrue(sets.planChunk(chunk));
        assertEquals(HotSets.CLOCK_ROWS, chunk.demoteRow(0), "taken up after the rows the late plan looked at");
        assertEquals(200, chunk.size(), "no deadline: a whole chunk");
        assertEquals(1, sets.lateStops());
        sets.commit(chunk);
        chunk.bounded(false);
        chunk.deadline(System.nanoTime() - 1); // a plan that is not bounded has no deadline
        assertTrue(sets.planChunk(chunk));
        assertTrue(chunk.size() > HotSets.CLOCK_ROWS);
        assertEquals(1, sets.lateStops());
    }

    @Test
    void aBoundedPlanLooksAtNoMoreThanAChunksWorthOfRowsInUseEvenWhenItPlansNothing() {
        List<Set<Long>> cur = emptySets();
        for (long r = 0; r < 1_000; r++) {
            cur.get(1).add(r);
        }
        HotSets sets = new HotSets(HotSetTest.hotSet(0, cur));
        boolean[] tracking = {true};
        sets.trackRowsInUse((t, row) -> tracking[0] && t == 1 && row < 130);
        sets.retarget(HotSetTest.hotSet(1, emptySets()));
        MoveChunk chunk = new MoveChunk(50);
        chunk.bounded(true);
        assertFalse(sets.planChunk(chunk), "50 rows in use passed over, none planned: a step boundary moves nothing");
        assertEquals(50, sets.deferredMoves());
        assertFalse(sets.planChunk(chunk));
        assertEquals(100, sets.deferredMoves(), "taken up after the rows passed over");
        assertTrue(sets.planChunk(chunk), "rows 100..129 passed over, then a full chunk planned");
        assertEquals(130, sets.deferredMoves());
        assertEquals(50, chunk.size());
        assertEquals(130, chunk.demoteRow(0));
        sets.commit(chunk);
        chunk.bounded(false); // settling: passes over rows in use until it finds a move
        tracking[0] = false;
        while (sets.planChunk(chunk)) {
            sets.commit(chunk);
        }
        assertTrue(sets.settled());
        assertTrue(sets.current().sameRows(HotSetTest.hotSet(1, emptySets())));
    }

    @Test
    void rowsTheOwnerReportsInUseAreNeverMoved() {
        SplittableRandom rnd = new SplittableRandom(5);
        List<Set<Long>> cur = HotSetTest.randomSets(rnd, 0.1);
        List<Set<Long>> next = HotSetTest.randomSets(rnd, 0.1);
        HotSets sets = new HotSets(HotSetTest.hotSet(0, cur));
        PooledBatch[] inFlight = batchTouching(rnd, cur, next);
        java.util.Set<Long> used = new java.util.HashSet<>();
        for (int t = 0; t < TABLES; t++) {
            for (int i = 0; i < inFlight[t].idCount(); i++) {
                used.add(((long) t << 40) | inFlight[t].id(i));
            }
        }
        boolean[] tracking = {true};
        sets.trackRowsInUse((t, row) -> tracking[0] && used.contains(((long) t << 40) | row));
        HotSet before = sets.current();
        sets.retarget(HotSetTest.hotSet(1, next));
        MoveChunk chunk = new MoveChunk(61);
        while (sets.planChunk(chunk)) {
            sets.commit(chunk);
        }
        assertEquals(0, sets.pinnedBatches(), "nothing is pinned while the owner tracks its rows");
        assertTrue(sets.deferredMoves() > 0);
        for (int t = 0; t < TABLES; t++) {
            for (int i = 0; i < inFlight[t].idCount(); i++) {
                long row = inFlight[t].id(i);
                assertEquals(before.contains(t, row), sets.current().contains(t, row), "a row in use moved: table " + t + " row " + row);
            }
        }
        assertFalse(sets.settled(), "moves of rows in use wait");
        tracking[0] = false; // the batch was applied
        while (sets.planChunk(chunk)) {
            sets.commit(chunk);
        }
        assertTrue(sets.settled());
    }

    @Test
    void pinnedRowsAreDeferredUntilReleasedAndTheirOwnerNeverChangesMeanwhile() {
        SplittableRandom rnd = new SplittableRandom(4);
        List<Set<Long>> cur = HotSetTest.randomSets(rnd, 0.1);
        List<Set<Long>> next = HotSetTest.randomSets(rnd, 0.1);
        HotSets sets = new HotSets(HotSetTest.hotSet(0, cur));
        // Two in-flight batches that use rows on both sides of the move, with repeats.
        PooledBatch[] b1 = batchTouching(rnd, cur, next);
        PooledBatch[] b2 = batchTouching(rnd, cur, next);
        HotSet g1 = sets.pin(b1);
        HotSet g2 = sets.pin(b2);
        assertEquals(2, sets.pinnedBatches());
        sets.retarget(HotSetTest.hotSet(1, next));
        MoveChunk chunk = new MoveChunk(97);
        int chunks = 0;
        while (sets.planChunk(chunk)) {
            for (int i = 0; i < chunk.demoteCount(); i++) {
                assertFalse(sets.isPinned(chunk.demoteTable(i), chunk.demoteRow(i)));
            }
            for (int i = 0; i < chunk.promoteCount(); i++) {
                assertFalse(sets.isPinned(chunk.promoteTable(i), chunk.promoteRow(i)));
            }
            sets.commit(chunk);
            chunks++;
        }
        assertTrue(chunks > 1);
        assertFalse(sets.settled(), "pinned rows in the difference must still be pending");
        assertTrue(sets.deferredMoves() > 0);
        for (PooledBatch[] b : List.of(b1, b2)) {
            HotSet built = b == b1 ? g1 : g2;
            for (int t = 0; t < TABLES; t++) {
                for (int i = 0; i < b[t].idCount(); i++) {
                    long row = b[t].id(i);
                    assertEquals(built.contains(t, row), sets.current().contains(t, row),
                            "a pinned row changed owner: table " + t + " row " + row);
                }
            }
        }
        // Left pending: the pinned rows of the difference, and promotions that wait for room
        // until pinned demotions go (the hot tier never holds more than max(current, target)).
        long pending = sets.pendingPromotions() + sets.pendingDemotions();
        long pinnedMoves = pendingExpected(cur, next, b1, b2);
        assertTrue(pending >= pinnedMoves);
        if (pending > pinnedMoves) {
            long limit = Math.max(HotSetTest.hotSet(0, cur).hotBytes(), HotSetTest.hotSet(1, next).hotBytes());
            assertTrue(sets.current().hotBytes() + 68 > limit, "unpinned promotions left although there is room");
        }
        sets.release(b1);
        sets.release(b2);
        assertEquals(0, sets.pinnedBatches());
        while (sets.planChunk(chunk)) {
            sets.commit(chunk);
        }
        assertTrue(sets.settled());
        assertTrue(sets.current().sameRows(HotSetTest.hotSet(1, next)));
        assertThrows(IllegalStateException.class, () -> sets.release(b1), "double release");
    }

    @Test
    void pinWaitsForTheChunkInTransitAndAbortLeavesMovesPending() throws Exception {
        SplittableRandom rnd = new SplittableRandom(5);
        List<Set<Long>> cur = HotSetTest.randomSets(rnd, 0.1);
        List<Set<Long>> next = HotSetTest.randomSets(rnd, 0.1);
        HotSets sets = new HotSets(HotSetTest.hotSet(0, cur));
        sets.retarget(HotSetTest.hotSet(1, next));
        long pending = sets.pendingPromotions() + sets.pendingDemotions();
        MoveChunk chunk = new MoveChunk(10);
        assertTrue(sets.planChunk(chunk));
        String aborted = rowsOf(chunk);
        sets.abort(chunk);
        assertEquals(pending, sets.pendingPromotions() + sets.pendingDemotions());
        assertEquals(0, sets.current().generation());

        assertTrue(sets.planChunk(chunk));
        assertEquals(aborted, rowsOf(chunk), "an aborted chunk's moves are planned again first");
        PooledBatch[] b = batchTouching(rnd, cur, next);
        CompletableFuture<HotSet> pinned = CompletableFuture.supplyAsync(() -> sets.pin(b));
        Thread.sleep(200);
        assertFalse(pinned.isDone(), "pin must wait while rows are in transit");
        sets.commit(chunk);
        assertEquals(1, pinned.get(10, TimeUnit.SECONDS).generation());
        assertThrows(IllegalStateException.class, () -> sets.commit(chunk), "commit of a chunk not in transit");
    }

    @Test
    void aPreparedTargetAdoptedAfterMoreCommitsRebasedOrNotMovesExactlyTheRemainingDifference() {
        SplittableRandom rnd = new SplittableRandom(8);
        for (int round = 0; round < 6; round++) {
            List<Set<Long>> cur = HotSetTest.randomSets(rnd, 0.1);
            HotSet first = HotSetTest.hotSet(1, HotSetTest.randomSets(rnd, 0.1));
            HotSet second = HotSetTest.hotSet(2, HotSetTest.randomSets(rnd, 0.1));
            HotSets sets = new HotSets(HotSetTest.hotSet(0, cur));
            sets.retarget(first);
            MoveChunk chunk = new MoveChunk(500);
            for (int i = 0; i < 3 && sets.planChunk(chunk); i++) {
                sets.commit(chunk);
            }
            HotSets.PreparedTarget stale = sets.prepare(first);
            HotSets.PreparedTarget latest = sets.prepare(second);
            HotSets.PreparedTarget prepared = round % 2 == 0 ? latest : stale;
            HotSet expectedTarget = round % 2 == 0 ? second : first;
            // Moves towards the first target go on while the knob's thread prepares; midway it
            // rebases the preparation over them (a stale one is left alone), in some rounds.
            boolean rebase = round % 3 != 2;
            long rebases = sets.rebases();
            for (int i = 0; i < 4 && sets.planChunk(chunk); i++) {
                sets.commit(chunk);
                if (i == 1 && rebase) {
                    sets.rebase(prepared);
                }
            }
            assertEquals(rebases + (rebase && round % 2 == 0 ? 1 : 0), sets.rebases(), "round " + round);
            long slow = sets.slowRetargets();
            sets.retarget(prepared);
            assertEquals(round % 2 == 0 ? slow : slow + 1, sets.slowRetargets(), "only a stale preparation is recomputed");
            HotSet at = sets.current();
            List<Set<Long>> promoted = emptySets();
            List<Set<Long>> demoted = emptySets();
            while (sets.planChunk(chunk)) {
                for (int i = 0; i < chunk.demoteCount(); i++) {
                    assertTrue(demoted.get(chunk.demoteTable(i)).add(chunk.demoteRow(i)));
                }
                for (int i = 0; i < chunk.promoteCount(); i++) {
                    assertTrue(promoted.get(chunk.promoteTable(i)).add(chunk.promoteRow(i)));
                }
                sets.commit(chunk);
            }
            for (int t = 0; t < TABLES; t++) {
                Set<Long> p = HotSetTest.toSet(expectedTarget.rowsCopy(t));
                p.removeAll(HotSetTest.toSet(at.rowsCopy(t)));
                Set<Long> d = HotSetTest.toSet(at.rowsCopy(t));
                d.removeAll(HotSetTest.toSet(expectedTarget.rowsCopy(t)));
                assertEquals(p, promoted.get(t), "round " + round + " table " + t);
                assertEquals(d, demoted.get(t), "round " + round + " table " + t);
            }
            assertTrue(sets.current().sameRows(expectedTarget));
        }
        HotSets a = new HotSets(HotSet.empty(HotSetTest.TABLES));
        HotSets b = new HotSets(HotSet.empty(HotSetTest.TABLES));
        HotSets.PreparedTarget foreign = a.prepare(HotSet.empty(HotSetTest.TABLES));
        assertThrows(IllegalArgumentException.class, () -> b.retarget(foreign));
    }

    @Test
    void blobRestoresCurrentTargetAndPendingMoves() {
        SplittableRandom rnd = new SplittableRandom(6);
        List<Set<Long>> cur = HotSetTest.randomSets(rnd, 0.2);
        List<Set<Long>> next = HotSetTest.randomSets(rnd, 0.2);
        HotSets sets = new HotSets(HotSetTest.hotSet(3, cur));
        sets.retarget(HotSetTest.hotSet(4, next));
        MoveChunk chunk = new MoveChunk(1000);
        sets.planChunk(chunk);
        sets.commit(chunk);
        HotSets back = HotSets.fromBytes(sets.toBytes(), HotSetTest.TABLES);
        assertEquals(sets.current().generation(), back.current().generation());
        assertTrue(back.current().sameRows(sets.current()));
        assertTrue(back.target().sameRows(sets.target()));
        assertEquals(sets.pendingPromotions(), back.pendingPromotions());
        assertEquals(sets.pendingDemotions(), back.pendingDemotions());
    }

    @Test
    void idsOutsideATableAreRefusedBeforeAnythingIsPinned() {
        HotSets sets = new HotSets(HotSet.empty(HotSetTest.TABLES));
        PooledBatch[] b = new PooledBatch[TABLES];
        for (int t = 0; t < TABLES; t++) {
            b[t] = new PooledBatch(4, 4).clear().add(1).endBag();
        }
        b[2].add(70_000).endBag();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sets.pin(b));
        assertTrue(e.getMessage().contains("t2") && e.getMessage().contains("70000"), e.getMessage());
        assertFalse(sets.isPinned(0, 1));
    }

    private static long pendingExpected(List<Set<Long>> cur, List<Set<Long>> next, PooledBatch[] b1, PooledBatch[] b2) {
        long n = 0;
        for (int t = 0; t < TABLES; t++) {
            Set<Long> used = new HashSet<>();
            for (PooledBatch[] b : List.of(b1, b2)) {
                for (int i = 0; i < b[t].idCount(); i++) {
                    used.add(b[t].id(i));
                }
            }
            for (long r : used) {
                if (cur.get(t).contains(r) != next.get(t).contains(r)) {
                    n++;
                }
            }
        }
        return n;
    }

    private static PooledBatch[] batchTouching(SplittableRandom rnd, List<Set<Long>> cur, List<Set<Long>> next) {
        PooledBatch[] b = new PooledBatch[TABLES];
        for (int t = 0; t < TABLES; t++) {
            List<Long> pool = new ArrayList<>(cur.get(t));
            pool.addAll(next.get(t));
            b[t] = new PooledBatch(8, 8).clear();
            for (int s = 0; s < 64; s++) {
                long id = pool.isEmpty() ? 0 : pool.get(rnd.nextInt(Math.min(pool.size(), 50)));
                b[t].add(id).endBag();
            }
        }
        return b;
    }

    /** A chunk's planned moves, in order. */
    private static String rowsOf(MoveChunk chunk) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < chunk.demoteCount(); i++) {
            b.append('-').append(chunk.demoteTable(i)).append(':').append(chunk.demoteRow(i)).append(' ');
        }
        for (int i = 0; i < chunk.promoteCount(); i++) {
            b.append('+').append(chunk.promoteTable(i)).append(':').append(chunk.promoteRow(i)).append(' ');
        }
        return b.toString();
    }

    private static List<Set<Long>> emptySets() {
        List<Set<Long>> l = new ArrayList<>();
        for (int t = 0; t < TABLES; t++) {
            l.add(new HashSet<>());
        }
        return l;
    }
}

package dev.ember.cache.testing;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.durability.HotDump;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The process the crash test kills: opens the store, then forever applies random batches and
 * checkpoints. Before each checkpoint it prints {@code BEGIN <step> <digest>} (the digest of the
 * state being checkpointed), after it {@code DONE <step>}. Each checkpoint carries a blob of
 * {@link #BLOB_BYTES} bytes derived from the step, so writing it takes a while. Arguments:
 * {@code <dir> [sync|nosync] [dump]}: whether pre-images are forced before rows change; with
 * {@code dump}, rows {@code [0, }{@link #HOT_ROWS}{@code )} of the first table act as a hot tier's:
 * loaded at start, changed only in memory, and checkpointed as a {@link HotDump} (never put into
 * the table), as a tiered store does with its dirty rows.
 */
public final class CrashChild {
    public static final int BLOB_BYTES = 6 << 20;
    public static final int HOT_ROWS = 2000;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        boolean sync = !(args.length > 1 && args[1].equals("nosync"));
        boolean dump = args.length > 2 && args[2].equals("dump");
        try (Store store = Store.open(dir, StoreConfig.builder().threads(2).syncUndoLog(sync).jmx(false).build())) {
            long step = store.lastCheckpoint().step();
            SplittableRandom rnd = new SplittableRandom(step * 31 + 17);
            PooledBatch batch = new PooledBatch(1024, 512);
            DedupedIds dedup = new DedupedIds();
            ByteBuffer grads = ByteBuffer.allocateDirect(512 * 64 * 4).order(ByteOrder.LITTLE_ENDIAN);
            ColdTable first = store.tables().get(0);
            int rowBytes = first.bytesPerRow();
            ByteBuffer hot = ByteBuffer.allocateDirect(HOT_ROWS * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
            long[] hotIds = new long[HOT_ROWS];
            for (int i = 0; i < HOT_ROWS; i++) {
                hotIds[i] = i;
            }
            if (dump) {
                first.gather(hotIds, HOT_ROWS, hot);
                // Stored once, so putting a dump's rows back never changes the row count the digest covers.
                first.put(hotIds, HOT_ROWS, hot);
            }
            HotDump.Source hotRows = out -> out.rows(0, hotIds, HOT_ROWS, hot);
            System.out.println("READY " + step);
            System.out.flush();
            while (true) {
                for (int k = 0; k < 8; k++) {
                    step++;
                    for (ColdTable t : store.tables()) {
                        batch.clear();
                        for (int b = 0; b < 256; b++) {
                            batch.add(rnd.nextLong(t.spec().rows())).add(rnd.nextLong(64)).endBag();
                        }
                        dedup.build(batch);
                        for (int i = 0; i < 256 * t.spec().dim(); i++) {
                            grads.putFloat(4 * i, (float) (rnd.nextDouble() - 0.5));
                        }
                        t.apply(dedup, grads, 0.1f, 1e-8f);
                    }
                    if (dump) {
                        for (int i = 0; i < 64; i++) {
                            hot.putFloat(rnd.nextInt(HOT_ROWS) * rowBytes + 4 * rnd.nextInt(rowBytes / 4), (float) rnd.nextDouble());
                        }
                    }
                }
                System.out.println("BEGIN " + step + " " + (dump ? StoreDigest.of(store, 0, 0, hot, HOT_ROWS) : StoreDigest.of(store)));
                System.out.flush();
                store.checkpoint(step, new long[] {step}, Map.of("weights", blob(step)), dump ? hotRows : null);
                System.out.println("DONE " + step);
                System.out.flush();
            }
        }
    }

    /** The blob a checkpoint at {@code step} carries. */
    public static byte[] blob(long step) {
        byte[] b = new byte[BLOB_BYTES];
        new SplittableRandom(step).nextBytes(b);
        return b;
    }
}

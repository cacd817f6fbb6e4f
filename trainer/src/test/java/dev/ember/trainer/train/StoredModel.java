package dev.ember.trainer.train;

import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/** What a closed store holds of a trained model, as bytes: every row of every table, and the MLPs. */
final class StoredModel {
    private StoredModel() {
    }

    /** Every row of every table of a closed store (weights and optimizer state). */
    static byte[][] rows(Path storeDir) {
        try (Store s = Store.open(storeDir, StoreConfig.builder().jmx(false).build())) {
            byte[][] out = new byte[s.tables().size()][];
            for (int t = 0; t < out.length; t++) {
                ColdTable table = s.tables().get(t);
                int n = (int) table.spec().rows();
                long[] ids = new long[n];
                for (int i = 0; i < n; i++) {
                    ids[i] = i;
                }
                ByteBuffer buf = ByteBuffer.allocateDirect(Math.max(64, n * table.bytesPerRow())).order(ByteOrder.LITTLE_ENDIAN);
                table.gather(ids, n, buf);
                out[t] = new byte[n * table.bytesPerRow()];
                buf.get(0, out[t]);
            }
            return out;
        }
    }

    /** The MLP weights and optimizer state of the store's last checkpoint. */
    static byte[] model(Path storeDir) {
        return Store.readManifest(storeDir).blobs().get(Trainer.MODEL_BLOB);
    }
}

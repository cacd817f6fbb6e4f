package dev.ember.trainer.train;

import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.durability.Manifest;
import dev.ember.cache.store.Store;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256 digests of a trained model as its store holds it at the last checkpoint: the rows
 * (every row of every table in row order, stored or still at its initial value, with its
 * optimizer state) and the dense weights (the manifest blob {@value Trainer#MODEL_BLOB}: MLP
 * weights and dense optimizer state). Two runs with equal digests hold bit-identical models,
 * whatever order their rows were written in; how {@code scripts/resume-check.sh} compares an
 * interrupted and resumed run with an uninterrupted one.
 */
public record ModelDigest(long step, String rows, String weights) {
    private static final int CHUNK = 4096;

    /** Digests of {@code store} (opened; reads every row of every table through the cold tier). */
    public static ModelDigest of(Store store) {
        MessageDigest rows = sha256();
        for (ColdTable t : store.tables()) {
            long[] ids = new long[CHUNK];
            ByteBuffer out = ByteBuffer.allocateDirect(CHUNK * t.bytesPerRow()).order(ByteOrder.LITTLE_ENDIAN);
            for (long start = 0; start < t.spec().rows(); start += CHUNK) {
                int n = (int) Math.min(CHUNK, t.spec().rows() - start);
                for (int i = 0; i < n; i++) {
                    ids[i] = start + i;
                }
                t.gather(ids, n, out);
                rows.update(out.duplicate().position(0).limit(n * t.bytesPerRow()));
            }
        }
        Manifest m = store.lastCheckpoint();
        byte[] model = m.blobs().get(Trainer.MODEL_BLOB);
        MessageDigest weights = sha256();
        if (model != null) {
            weights.update(model);
        }
        return new ModelDigest(m.step(), HexFormat.of().formatHex(rows.digest()),
                model == null ? "none" : HexFormat.of().formatHex(weights.digest()));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }
}

package dev.ember.trainer.cli;

import dev.ember.cache.batch.DedupedIds;
import dev.ember.cache.batch.PooledBatch;
import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StoreCommandTest {
    @TempDir
    Path dir;

    private String[] run(String... args) {
        CommandLine cli = EmberCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }

    @Test
    void infoShowsTablesAndGrowRaisesCapacityKeepingRows() throws Exception {
        TableSpec spec = new TableSpec("items", 10_000, 4, Optimizer.SGD);
        float[] before = new float[4];
        try (Store s = Store.create(dir, StoreConfig.builder().table(spec, 100).headroom(1.0).jmx(false).build())) {
            ColdTable t = s.table("items");
            long[] ids = {5, 6, 7};
            DedupedIds d = new DedupedIds().build(new PooledBatch(3, 3).setOneHot(ids, 3));
            ByteBuffer g = ByteBuffer.allocateDirect(64).order(ByteOrder.LITTLE_ENDIAN);
            g.putFloat(0, 1f);
            t.apply(d, g, 0.5f, 0f);
            t.gather(d, g);
            for (int c = 0; c < 4; c++) {
                before[c] = g.getFloat(4 * c);
            }
            s.checkpoint(12, new long[0], Map.of());
        }
        String[] info = run("store", "info", dir.toString());
        assertEquals("0", info[0], info[2]);
        assertTrue(info[1].contains("step 12"), info[1]);
        assertTrue(info[1].matches("(?s).*items\\s+10000\\s+4\\s+SGD\\s+3\\s+100\\s+97\\s+\\d+.*"), info[1]);

        String[] digest = run("store", "info", dir.toString(), "--digest");
        assertEquals("0", digest[0], digest[2]);
        assertTrue(digest[1].contains("digest at step 12: rows " + referenceDigest(spec, before) + " weights none"), digest[1]);

        String[] grow = run("store", "grow", dir.toString(), "--table", "items", "--rows", "5000");
        assertEquals("0", grow[0], grow[2]);
        assertTrue(grow[1].contains("100 -> 5000"), grow[1]);
        assertTrue(run("store", "info", dir.toString())[1].matches("(?s).*items\\s+10000\\s+4\\s+SGD\\s+3\\s+5000\\s+4997.*"));
        try (Store s = Store.open(dir, StoreConfig.builder().jmx(false).build())) {
            ByteBuffer out = ByteBuffer.allocateDirect(16).order(ByteOrder.LITTLE_ENDIAN);
            s.table("items").gather(new long[] {5}, 1, out);
            for (int c = 0; c < 4; c++) {
                assertEquals(Float.floatToRawIntBits(before[c]), Float.floatToRawIntBits(out.getFloat(4 * c)));
            }
        }

        String[] missing = run("store", "grow", dir.toString(), "--table", "nope", "--rows", "5");
        assertEquals(Integer.toString(EmberCli.EXIT_USAGE), missing[0]);
        assertTrue(missing[2].contains("no table nope"), missing[2]);
        String[] notAStore = run("store", "info", dir.resolve("absent").toString());
        assertTrue(notAStore[2].contains("is not an Ember store"), notAStore[2]);
        assertEquals(digest[1].lines().filter(l -> l.startsWith("digest")).toList(),
                run("store", "info", dir.toString(), "--digest")[1].lines().filter(l -> l.startsWith("digest")).toList(),
                "growing a table changes no row");
    }

    /**
     * SHA-256 of every row in order: row 5 as trained, every other row its initial value (RowInit,
     * seed 0; rows 6 and 7 were stored with a zero gradient, so they kept it).
     */
    private static String referenceDigest(TableSpec spec, float[] row5) throws Exception {
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        ByteBuffer row = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        float scale = dev.ember.cache.table.RowInit.scale(spec.rows());
        for (long r = 0; r < spec.rows(); r++) {
            for (int c = 0; c < 4; c++) {
                float w = dev.ember.cache.table.RowInit.weight(0, 0, r, c, scale);
                row.putFloat(4 * c, r == 5 ? row5[c] : w);
            }
            sha.update(row.array());
        }
        return java.util.HexFormat.of().formatHex(sha.digest());
    }
}

package dev.ember.cache.store;

import dev.ember.cache.cold.ColdTable;
import dev.ember.cache.cold.MapFiles;
import dev.ember.cache.cold.WorkerPool;
import dev.ember.cache.durability.AtomicFiles;
import dev.ember.cache.durability.Blobs;
import dev.ember.cache.durability.HotDump;
import dev.ember.cache.durability.Manifest;
import dev.ember.cache.durability.SideFile;
import dev.ember.cache.durability.UndoLog;
import dev.ember.cache.jmx.MBeans;
import dev.ember.cache.jmx.TableView;
import dev.ember.cache.table.TableSpec;
import net.openhft.chronicle.core.values.LongValue;
import net.openhft.chronicle.map.ChronicleMap;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A directory of cold tables with exact checkpoints. One writer process at a time.
 *
 * <pre>
 *  dir/manifest      last completed checkpoint ({@link Manifest}), replaced atomically
 *  dir/&lt;table&gt;.cm    one persisted Chronicle Map per table, preallocated
 *  dir/undo.log      pre-images since that checkpoint ({@link UndoLog})
 *  dir/lock          OS lock of the writer, holding its pid
 *  dir/writer.open   present while a writer has the store open: its absence means a clean close
 *  dir/hot.&lt;epoch&gt;.dump  rows a hot tier held dirty at that checkpoint ({@link HotDump}), named by the manifest
 *  dir/side.&lt;name&gt;.&lt;epoch&gt;  a caller's state too big for the manifest ({@link SideFile}), named by it
 * </pre>
 *
 * Opening always yields exactly the last completed checkpoint: after a crash Chronicle's recovery
 * repairs the maps, the undo log's pre-images are put back, and the row counts are checked against
 * the manifest. Updates made after the last checkpoint are rolled back even after a clean close,
 * so tables always agree with the manifest's step, RNG state and blobs. A checkpoint's hot dump is
 * checked whole (length, CRC-32C, structure; a damaged one is an error naming it, before any row
 * changes), its rows put into the tables, and a checkpoint of that same state (epoch + 1, same
 * step and blobs) retires it: after {@link #open} the tables alone hold every value. A crash
 * while that runs is rolled back like any update, and the next open does it again.
 */
public final class Store implements AutoCloseable {
    static {
        dev.ember.cache.cold.NoCallsOut.ensure();
    }

    public static final String MANIFEST = "manifest";
    public static final String UNDO_LOG = "undo.log";
    public static final String OPEN_MARKER = "writer.open";
    /** Written at a clean close: the undo log's length and CRC-32C, checked by the next open. */
    public static final String UNDO_SEAL = "undo.seal";
    public static final String MAP_SUFFIX = ".cm";
    private static final String GROW_SUFFIX = ".cm.grow";
    /** The manifest blob naming the checkpoint's {@link HotDump} (reserved: callers cannot use it). */
    public static final String HOT_DUMP_BLOB = "store.hotdump";
    /** Manifest blobs naming the checkpoint's {@link SideFile}s: this prefix, then the state's name (reserved). */
    public static final String SIDE_BLOB_PREFIX = "store.side.";

    private final Path dir;
    private final StoreConfig config;
    private final StoreLock lock;
    private final WorkerPool pool;
    private final UndoLog undo;
    private final List<ColdTable> tables;
    private final MBeans mbeans;
    private final Map<String, TableView> views = new java.util.HashMap<>();
    private final Map<String, dev.ember.cache.jmx.TierStats> tierStats = new java.util.HashMap<>();
    private volatile Manifest manifest;
    private volatile double lastCheckpointMillis = -1;
    private volatile long lastCheckpointBytes;
    private long writesAtCheckpoint;
    private boolean dumpUnfolded;
    private boolean closed;

    private Store(Path dir, StoreConfig config, StoreLock lock, WorkerPool pool, UndoLog undo,
                  List<ColdTable> tables, Manifest manifest) {
        this.dir = dir;
        this.config = config;
        this.lock = lock;
        this.pool = pool;
        this.undo = undo;
        this.tables = tables;
        this.manifest = manifest;
        this.mbeans = config.jmx() ? new MBeans(dir.toString()) : null;
        if (mbeans != null) {
            mbeans.registerStore(new StoreView(this));
            for (ColdTable t : tables) {
                mbeans.registerTable(t.name(), view(t));
            }
        }
    }

    private TableView view(ColdTable t) {
        TableView v = new TableView(t);
        v.attach(tierStats.get(t.name()));
        views.put(t.name(), v);
        return v;
    }

    /**
     * Shows a tiered store's hot rows, hits and misses in table {@code name}'s MXBean
     * ({@code null} detaches).
     */
    public synchronized void attachTierStats(String name, dev.ember.cache.jmx.TierStats stats) {
        table(name);
        if (stats == null) {
            tierStats.remove(name);
        } else {
            tierStats.put(name, stats);
        }
        TableView v = views.get(name);
        if (v != null) {
            v.attach(stats);
        }
    }

    /** Whether this store registers MXBeans. */
    public boolean jmxEnabled() {
        return mbeans != null;
    }

    /** Creates a new store in {@code dir} (created if missing; refused if it already holds a store). */
    public static Store create(Path dir, StoreConfig config) {
        if (config.tables().isEmpty()) {
            throw new StoreException("store " + dir + ": no tables given (StoreConfig.builder().table(...))");
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new StoreException("cannot create store directory " + dir + ": " + e.getMessage(), e);
        }
        StoreLock lock = StoreLock.acquire(dir);
        List<ColdTable> made = new ArrayList<>();
        WorkerPool pool = null;
        UndoLog undo = null;
        try {
            if (Files.exists(dir.resolve(MANIFEST))) {
                throw new StoreException("store " + dir + " already exists (" + dir.resolve(MANIFEST)
                        + "); open it instead, or choose an empty directory");
            }
            for (TableSpec spec : config.tables()) {
                Path f = mapFile(dir, spec.name());
                if (Files.exists(f)) {
                    throw new StoreException(f + " exists but the store has no manifest (an interrupted create?);"
                            + " delete " + dir + " and create it again");
                }
            }
            pool = new WorkerPool(config.threads(), "ember-cold");
            undo = UndoLog.open(dir.resolve(UNDO_LOG), 0, config.syncUndoLog());
            undo.reset(0);
            List<Manifest.TableState> states = new ArrayList<>();
            for (int i = 0; i < config.tables().size(); i++) {
                TableSpec spec = config.tables().get(i);
                long capacity = config.capacity(spec);
                File f = mapFile(dir, spec.name()).toFile();
                ChronicleMap<LongValue, byte[]> map = MapFiles.create(f, spec.name(), capacity, spec.layout().bytesPerRow());
                made.add(new ColdTable(spec, i, config.seed(), capacity, f, map, pool, config.undoLog() ? undo : null, config.positionIndex()));
                states.add(new Manifest.TableState(spec, capacity, 0));
            }
            Manifest m = new Manifest(0, 0, config.seed(), System.currentTimeMillis(), new long[0], states, Map.of());
            AtomicFiles.replace(dir.resolve(MANIFEST), m.encode());
            markOpen(dir, config);
            return new Store(dir, config, lock, pool, undo, made, m);
        } catch (IOException | RuntimeException e) {
            closeQuietly(made, pool, undo);
            lock.close();
            if (e instanceof StoreException) {
                throw (StoreException) e;
            }
            throw new StoreException("cannot create store " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Opens an existing store at its last completed checkpoint. Tables in {@code config} (if any)
     * must equal the manifest's; the manifest's seed and capacities are used.
     */
    public static Store open(Path dir, StoreConfig config) {
        readManifest(dir); // not a store: say so before leaving a lock file behind
        StoreLock lock = StoreLock.acquire(dir);
        Store store = null;
        List<ColdTable> opened = new ArrayList<>();
        WorkerPool pool = null;
        UndoLog undo = null;
        try {
            Manifest m = readManifest(dir);
            checkSpecs(dir, m, config);
            for (Manifest.TableState t : m.tables()) {
                Files.deleteIfExists(dir.resolve(t.spec().name() + GROW_SUFFIX));
            }
            Path marker = dir.resolve(OPEN_MARKER);
            boolean crashed = Files.exists(marker);
            if (crashed && Files.readString(marker, StandardCharsets.US_ASCII).contains("undo=off")) {
                throw new StoreException("store " + dir + " was written without an undo log (StoreConfig.undoLog(false))"
                        + " and not closed cleanly after its last checkpoint (" + marker + "): its tables cannot be"
                        + " restored to that checkpoint; recreate it");
            }
            pool = new WorkerPool(config.threads(), "ember-cold");
            undo = UndoLog.open(dir.resolve(UNDO_LOG), m.epoch(), config.syncUndoLog());
            UndoLog journal = config.undoLog() ? undo : null;
            List<String> corruptions = new ArrayList<>();
            for (int i = 0; i < m.tables().size(); i++) {
                Manifest.TableState t = m.tables().get(i);
                File f = mapFile(dir, t.spec().name()).toFile();
                ChronicleMap<LongValue, byte[]> map;
                try {
                    map = MapFiles.open(f, t.spec().name(), t.capacity(), t.spec().layout().bytesPerRow(), crashed, corruptions);
                } catch (IOException | RuntimeException e) {
                    throw new StoreException("store " + dir + ": cannot open table file " + f + ": " + e.getMessage(), e);
                }
                opened.add(new ColdTable(t.spec(), i, m.seed(), t.capacity(), f, map, pool, journal, config.positionIndex()));
            }
            checkSeal(dir, m);
            rollBack(dir, m, undo, opened);
            for (int i = 0; i < opened.size(); i++) {
                ColdTable t = opened.get(i);
                long expected = m.tables().get(i).rowsStored();
                if (t.rowsStored() != expected) {
                    throw new StoreException("store " + dir + ": table file " + t.file() + " holds " + t.rowsStored()
                            + " rows after recovery, the last checkpoint (step " + m.step() + ") recorded " + expected
                            + " (after rolling back the pre-images of " + dir.resolve(UNDO_LOG)
                            + ": that log or this table file is damaged)"
                            + (corruptions.isEmpty() ? "" : "; Chronicle reported: " + String.join("; ", corruptions))
                            + "; the store cannot be restored");
                }
                t.force();
            }
            undo.reset(m.epoch());
            Files.deleteIfExists(dir.resolve(UNDO_SEAL));
            deleteStrayFiles(dir, m);
            markOpen(dir, config);
            store = new Store(dir, config, lock, pool, undo, opened, m);
            if (m.blobs().containsKey(HOT_DUMP_BLOB)) {
                // The tables take the dump's rows and a checkpoint of the same state retires it, so
                // every reader sees every value and the next checkpoint starts from the tables alone.
                store.dumpUnfolded = true;
                store.foldDump(m, "opening it");
                Map<String, byte[]> blobs = new java.util.LinkedHashMap<>(m.blobs());
                blobs.remove(HOT_DUMP_BLOB);
                // Its side files stay: the new manifest names them as the old one did.
                store.checkpointHolding(0, m.step(), m.rngState(), blobs, null, Map.of());
            }
            return store;
        } catch (IOException | RuntimeException e) {
            if (store != null) {
                store.mbeansClose();
            }
            closeQuietly(opened, pool, undo);
            lock.close();
            if (e instanceof StoreException) {
                throw (StoreException) e;
            }
            throw new StoreException("cannot open store " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Reads the last completed checkpoint without opening the store (no lock; safe beside a writer). */
    public static Manifest readManifest(Path dir) {
        Path file = dir.resolve(MANIFEST);
        try {
            return Manifest.decode(Files.readAllBytes(file), file.toString());
        } catch (NoSuchFileException e) {
            throw new StoreException(dir + " is not an Ember store: " + file + " is missing");
        } catch (IOException e) {
            throw new StoreException("store " + dir + ": cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** "length crc" of a file, CRC-32C over every byte. */
    private static String seal(Path file) throws IOException {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        long length = 0;
        try (java.io.InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                crc.update(buf, 0, n);
                length += n;
            }
        }
        return length + " " + Long.toHexString(crc.getValue());
    }

    /**
     * A cleanly closed store's undo log must be exactly as it was closed: a damaged or truncated
     * log would roll back only part of the updates since the checkpoint. (After a crash there is
     * no seal: a log cut short by the crash lost only appends whose updates never happened.)
     */
    private static void checkSeal(Path dir, Manifest m) throws IOException {
        Path sealFile = dir.resolve(UNDO_SEAL);
        if (!Files.exists(sealFile)) {
            return;
        }
        Path log = dir.resolve(UNDO_LOG);
        String want = Files.readString(sealFile, StandardCharsets.US_ASCII).strip();
        String got = Files.exists(log) ? seal(log) : "missing";
        if (!want.equals(got)) {
            throw new StoreException("store " + dir + ": undo log " + log + " is damaged (length and CRC-32C now " + got
                    + ", at the clean close " + want + "); its rows cannot be restored to the checkpoint at step "
                    + m.step() + "; restore the store folder from a copy");
        }
    }

    private static void rollBack(Path dir, Manifest m, UndoLog undo, List<ColdTable> tables) throws IOException {
        if (undo.epoch() < m.epoch()) {
            return; // crashed after the manifest was replaced, before the log was reset: the log is spent
        }
        if (undo.epoch() > m.epoch()) {
            throw new StoreException("store " + dir + ": undo log " + undo.file() + " is at checkpoint " + undo.epoch()
                    + " but the manifest at " + m.epoch() + "; the store cannot be restored");
        }
        undo.replay((table, row, present, bytes) -> {
            if (table < 0 || table >= tables.size()) {
                throw new StoreException("store " + dir + ": undo log " + undo.file() + " names table number " + table
                        + ", the manifest has " + tables.size() + " tables; the store cannot be restored");
            }
            tables.get(table).restore(row, present, bytes);
        });
    }

    /** Dump and side files the manifest does not name: left by a checkpoint that did not complete. */
    private static void deleteStrayFiles(Path dir, Manifest m) throws IOException {
        byte[] b = m.blobs().get(HOT_DUMP_BLOB);
        String keep = b == null ? null : HotDump.Ref.fromBytes(b, dir.resolve(MANIFEST).toString()).file();
        java.util.Set<String> sides = sideFiles(dir, m);
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (HotDump.isDumpName(name) && !name.equals(keep) || SideFile.isSideName(name) && !sides.contains(name)) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    /** The side files {@code m} names. */
    private static java.util.Set<String> sideFiles(Path dir, Manifest m) throws IOException {
        java.util.Set<String> names = new java.util.HashSet<>();
        for (Map.Entry<String, byte[]> e : m.blobs().entrySet()) {
            if (e.getKey().startsWith(SIDE_BLOB_PREFIX)) {
                names.add(SideFile.Ref.fromBytes(e.getValue(), dir.resolve(MANIFEST).toString()).file());
            }
        }
        return names;
    }

    /** Whether the last checkpoint saved state {@code name} in a side file. */
    public boolean hasSide(String name) {
        return manifest.blobs().containsKey(SIDE_BLOB_PREFIX + SideFile.checkName(name));
    }

    /**
     * Reads state {@code name} of the last checkpoint from its side file (checked whole first: a
     * damaged or truncated file is an error naming it, and {@code reader} sees none of it).
     */
    public synchronized <T> T readSide(String name, SideFile.Reader<T> reader) {
        checkOpen();
        byte[] b = manifest.blobs().get(SIDE_BLOB_PREFIX + SideFile.checkName(name));
        if (b == null) {
            throw new StoreException("store " + dir + ": its last checkpoint (step " + manifest.step() + ") saved no state "
                    + name);
        }
        try {
            SideFile.Ref ref = SideFile.Ref.fromBytes(b, dir.resolve(MANIFEST).toString());
            return SideFile.read(dir.resolve(ref.file()), ref, reader);
        } catch (IOException e) {
            throw new StoreException("store " + dir + ": cannot read state " + name + " of its last checkpoint (step "
                    + manifest.step() + "): " + e.getMessage() + "; restore the store folder from a copy", e);
        }
    }

    private void mbeansClose() {
        if (mbeans != null) {
            mbeans.close();
        }
    }

    private static void checkSpecs(Path dir, Manifest m, StoreConfig config) {
        if (config.tables().isEmpty()) {
            return;
        }
        List<TableSpec> want = config.tables();
        if (want.size() != m.tables().size()) {
            throw new StoreException("store " + dir + " has " + m.tables().size() + " tables " + names(m)
                    + ", the configuration gives " + want.size());
        }
        for (int i = 0; i < want.size(); i++) {
            TableSpec have = m.tables().get(i).spec();
            TableSpec w = want.get(i);
            if (!have.equals(w)) {
                throw new StoreException("store " + dir + ": table " + i + " is " + have + " in " + dir.resolve(MANIFEST)
                        + " but the configuration gives " + w + "; a store's tables cannot change (use a new store)");
            }
        }
    }

    private static List<String> names(Manifest m) {
        List<String> n = new ArrayList<>();
        m.tables().forEach(t -> n.add(t.spec().name()));
        return n;
    }

    private static void markOpen(Path dir, StoreConfig config) throws IOException {
        Files.writeString(dir.resolve(OPEN_MARKER), "pid=" + ProcessHandle.current().pid()
                + " undo=" + (config.undoLog() ? "on" : "off") + "\n", StandardCharsets.US_ASCII);
        AtomicFiles.forceDirectory(dir);
    }

    static Path mapFile(Path dir, String table) {
        return dir.resolve(table + MAP_SUFFIX);
    }

    public Path directory() {
        return dir;
    }

    /** The threads table operations run on, besides the caller's (for measuring CPU time). */
    public long[] workerThreadIds() {
        return pool.workerThreadIds();
    }

    public List<ColdTable> tables() {
        return Collections.unmodifiableList(tables);
    }

    public ColdTable table(String name) {
        for (ColdTable t : tables) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        throw new StoreException("store " + dir + " has no table " + name + " (tables: " + names(manifest) + ")");
    }

    /** The last completed checkpoint. */
    public Manifest lastCheckpoint() {
        return manifest;
    }

    public boolean undoLogEnabled() {
        return config.undoLog();
    }

    public long undoLogBytes() {
        return undo.recordBytes();
    }

    /** Duration of the last checkpoint this process took, in ms (-1: none yet). */
    public double lastCheckpointMillis() {
        return lastCheckpointMillis;
    }

    /** Bytes the last checkpoint wrote: the manifest, its hot dump and side files, plus the pre-images it retired. */
    public long lastCheckpointBytes() {
        return lastCheckpointBytes;
    }

    /**
     * Makes the current state the one every later open returns: forces the tables, replaces the
     * manifest atomically, then empties the undo log. A crash before the manifest's rename leaves
     * the previous checkpoint; after it, this one. When the previous checkpoint had a hot dump,
     * its rows are put into the tables first (nothing checkpointed is lost).
     *
     * @param blobs opaque named state of callers (trainer weights, tiering state), restored as is
     *              (a blob's bytes are not copied: do not change them while this runs)
     */
    public synchronized Manifest checkpoint(long step, long[] rngState, Map<String, byte[]> blobs) {
        return checkpoint(step, rngState, blobs, null);
    }

    /**
     * As {@link #checkpoint(long, long[], Map)}, with rows whose newest value is not in the tables
     * (a hot tier's dirty rows) written by {@code hot} into a sequential {@link HotDump} file that
     * the manifest names. The dump is written and forced before the manifest is replaced; the
     * previous dump is deleted after. {@link #open} puts a dump's rows into the tables, so every
     * reader of a reopened store sees every value.
     */
    public synchronized Manifest checkpoint(long step, long[] rngState, Map<String, byte[]> blobs, HotDump.Source hot) {
        return checkpoint(step, rngState, blobs, hot, Map.of());
    }

    /**
     * As {@link #checkpoint(long, long[], Map, HotDump.Source)}, with state too big for the
     * manifest streamed by {@code sides} (by name) into {@link SideFile}s that the manifest names,
     * written and forced before it is published; {@link #readSide} reads them back.
     */
    public synchronized Manifest checkpoint(long step, long[] rngState, Map<String, byte[]> blobs, HotDump.Source hot,
                                            Map<String, Blobs.Fields> sides) {
        checkOpen();
        for (String name : blobs.keySet()) {
            if (name.equals(HOT_DUMP_BLOB) || name.startsWith(SIDE_BLOB_PREFIX)) {
                throw new IllegalArgumentException("blob name " + name + " is the store's own (its hot dump and side files);"
                        + " rename that blob");
            }
        }
        sides.keySet().forEach(SideFile::checkName);
        if (hot == null && dumpUnfolded) {
            foldDump(manifest, "checkpoint at step " + step);
        }
        return checkpointHolding(0, step, rngState, blobs, hot, sides);
    }

    /** Takes table {@code i}'s monitor (and, recursively, the rest in order), then checkpoints. */
    private Manifest checkpointHolding(int held, long step, long[] rngState, Map<String, byte[]> blobs, HotDump.Source hot,
                                       Map<String, Blobs.Fields> sides) {
        if (held < tables.size()) {
            synchronized (tables.get(held)) {
                return checkpointHolding(held + 1, step, rngState, blobs, hot, sides);
            }
        }
        long t0 = System.nanoTime();
        Manifest prev = manifest;
        Path dumpFile = hot == null ? null : dir.resolve(HotDump.fileName(prev.epoch() + 1));
        List<Path> written = new ArrayList<>();
        boolean published = false;
        try {
            Map<String, byte[]> all = new java.util.LinkedHashMap<>(blobs);
            long fileBytes = 0;
            if (hot != null) {
                HotDump.Ref ref;
                try (HotDump.Writer w = HotDump.Writer.create(dumpFile, prev.epoch() + 1, rowBytes())) {
                    hot.writeTo(w);
                    ref = w.finish();
                }
                all.put(HOT_DUMP_BLOB, ref.toBytes());
                fileBytes = ref.length();
            }
            for (Map.Entry<String, Blobs.Fields> e : sides.entrySet()) {
                Path file = dir.resolve(SideFile.fileName(e.getKey(), prev.epoch() + 1));
                Files.deleteIfExists(file); // left by a checkpoint of this epoch that failed
                written.add(file);
                SideFile.Ref ref = SideFile.write(file, e.getValue());
                all.put(SIDE_BLOB_PREFIX + e.getKey(), ref.toBytes());
                fileBytes += ref.length();
            }
            for (ColdTable t : tables) {
                t.force();
            }
            List<Manifest.TableState> states = new ArrayList<>();
            for (int i = 0; i < tables.size(); i++) {
                ColdTable t = tables.get(i);
                states.add(new Manifest.TableState(t.spec(), t.capacity(), t.rowsStored()));
            }
            Manifest next = new Manifest(prev.epoch() + 1, step, prev.seed(), System.currentTimeMillis(),
                    rngState.clone(), states, all);
            byte[] bytes = next.encode();
            long retired = undo.recordBytes();
            AtomicFiles.replace(dir.resolve(MANIFEST), bytes);
            published = true;
            manifest = next;
            dumpUnfolded = hot != null;
            undo.reset(next.epoch());
            for (ColdTable t : tables) {
                t.checkpointed();
            }
            HotDump.Ref old = dumpRef(prev);
            if (old != null && !old.file().equals(dumpFile == null ? null : dumpFile.getFileName().toString())) {
                Files.deleteIfExists(dir.resolve(old.file()));
            }
            java.util.Set<String> kept = sideFiles(dir, next);
            for (String f : sideFiles(dir, prev)) {
                if (!kept.contains(f)) {
                    Files.deleteIfExists(dir.resolve(f));
                }
            }
            writesAtCheckpoint = totalWrites();
            lastCheckpointBytes = bytes.length + retired + fileBytes;
            lastCheckpointMillis = (System.nanoTime() - t0) / 1e6;
            return next;
        } catch (IOException | RuntimeException e) {
            if (!published) {
                if (dumpFile != null) {
                    written.add(dumpFile);
                }
                for (Path f : written) {
                    try {
                        Files.deleteIfExists(f);
                    } catch (IOException ignored) {
                        // the next open deletes dump and side files its manifest does not name
                    }
                }
            }
            if (published || !(e instanceof IOException)) {
                throw e instanceof RuntimeException r ? r : new StoreException("store " + dir + ": checkpoint at step "
                        + step + " completed but cleaning up after it failed: " + e.getMessage(), e);
            }
            throw new StoreException("store " + dir + ": checkpoint at step " + step + " failed: " + e.getMessage()
                    +  " (the manifest needs over " + blobs.values().stream().mapToLong(b -> b.length).sum() + " bytes, "
                    + dev.ember.cache.cold.SpaceText.usable(dir) + "); the last completed checkpoint (step "
                    + manifest.step() + ") still stands", e);
        }
    }

    private int[] rowBytes() {
        int[] b = new int[tables.size()];
        for (int i = 0; i < b.length; i++) {
            b[i] = tables.get(i).bytesPerRow();
        }
        return b;
    }

    private long[] tableRows() {
        long[] r = new long[tables.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = tables.get(i).spec().rows();
        }
        return r;
    }

    /** The hot dump {@code m} names, or null. */
    private HotDump.Ref dumpRef(Manifest m) throws IOException {
        byte[] b = m.blobs().get(HOT_DUMP_BLOB);
        return b == null ? null : HotDump.Ref.fromBytes(b, dir.resolve(MANIFEST).toString());
    }

    /**
     * Whether the last checkpoint's hot dump holds rows the tables lack (its writer's hot tier
     * has them). A new hot tier over this store would miss them: reopen the store first.
     */
    public boolean hasUnfoldedHotDump() {
        return dumpUnfolded;
    }

    /**
     * Puts the rows of {@code m}'s hot dump into the tables (pre-images logged as for any write),
     * after checking the whole file: a damaged dump changes nothing.
     */
    private void foldDump(Manifest m, String during) {
        Path file = null;
        try {
            HotDump.Ref ref = dumpRef(m);
            if (ref == null) {
                return;
            }
            file = dir.resolve(ref.file());
            int[] rowBytes = rowBytes();
            long[] rows = tableRows();
            HotDump.verify(file, ref, rowBytes, rows);
            HotDump.read(file, ref, rowBytes, rows, (table, ids, count, bytes) -> tables.get(table).put(ids, count, bytes));
            dumpUnfolded = false;
        } catch (IOException e) {
            throw new StoreException("store " + dir + ": " + during + ": " + e.getMessage() + "; the hot rows of the"
                    + " checkpoint at step " + m.step() + " cannot be restored; restore the store folder from a copy", e);
        }
    }

    /**
     * Rebuilds {@code table} with room for {@code newCapacity} rows, keeping every row: a new file is
     * built beside the old one, checked, then renamed over it; the manifest records the capacity
     * last. Needs no updates since the last checkpoint (open, grow, then train).
     */
    public synchronized void grow(String name, long newCapacity) {
        checkOpen();
        ColdTable old = table(name);
        if (old.rowsLogged() > 0) {
            throw new StoreException("store " + dir + ": table " + name + " has updates since the last checkpoint;"
                    + " checkpoint (or reopen) before growing it");
        }
        if (newCapacity <= old.capacity()) {
            throw new StoreException("table " + name + ": new capacity " + newCapacity + " must exceed the current "
                    + old.capacity() + " (--rows)");
        }
        if (newCapacity > old.spec().rows()) {
            throw new StoreException("table " + name + ": capacity " + newCapacity + " exceeds its " + old.spec().rows()
                    + " ids; more rows can never be stored (--rows at most " + old.spec().rows() + ")");
        }
        Path target = mapFile(dir, name);
        Path beside = dir.resolve(name + GROW_SUFFIX);
        int rowBytes = old.bytesPerRow();
        try {
            Files.deleteIfExists(beside);
            long copied;
            try (ChronicleMap<LongValue, byte[]> fresh = MapFiles.create(beside.toFile(), name, newCapacity, rowBytes)) {
                copied = MapCopy.copy(old.map(), fresh);
                if (copied != old.rowsStored() || fresh.longSize() != copied) {
                    throw new StoreException("table " + name + ": copy holds " + fresh.longSize() + " rows, the table "
                            + old.rowsStored() + "; " + target + " is unchanged");
                }
                MapCopy.verify(old.map(), fresh, name);
            }
            MapFiles.force(beside.toFile());
            int index = tables.indexOf(old);
            old.close();
            Files.move(beside, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            AtomicFiles.forceDirectory(dir);
            ChronicleMap<LongValue, byte[]> map = MapFiles.open(target.toFile(), name, newCapacity, rowBytes, false,
                    new ArrayList<>());
            ColdTable grown = new ColdTable(old.spec(), old.index(), manifest.seed(), newCapacity, target.toFile(), map,
                    pool, config.undoLog() ? undo : null, config.positionIndex());
            tables.set(index, grown);
            if (mbeans != null) {
                mbeans.close();
                mbeans.registerStore(new StoreView(this));
                for (ColdTable t : tables) {
                    mbeans.registerTable(t.name(), view(t));
                }
            }
            List<Manifest.TableState> states = new ArrayList<>(manifest.tables());
            Manifest.TableState s = states.get(index);
            states.set(index, new Manifest.TableState(s.spec(), newCapacity, s.rowsStored()));
            Manifest next = manifest.withTables(states);
            AtomicFiles.replace(dir.resolve(MANIFEST), next.encode());
            manifest = next;
        } catch (IOException e) {
            throw new StoreException("table " + name + ": grow failed: " + e.getMessage() + " (" + target
                    + " is unchanged unless the rename completed)", e);
        }
    }

    /** Opens the store at {@code dir}, grows one table, closes it. */
    public static void grow(Path dir, String table, long newCapacity) {
        try (Store s = open(dir, StoreConfig.builder().jmx(false).build())) {
            s.grow(table, newCapacity);
        }
    }

    /** The cold tier's row traffic since the store opened, in one line (all tables). */
    public String coldTraffic() {
        long read = 0;
        long written = 0;
        long inPlace = 0;
        long inserted = 0;
        long preImages = 0;
        for (ColdTable t : tables) {
            read += t.counters().rowsRead();
            written += t.counters().rowsWritten();
            inPlace += t.counters().rowsInPlace();
            inserted += t.counters().rowsInserted();
            preImages += t.counters().preImagesLogged();
        }
        return String.format("%d rows read, %d written (%d in place, %d inserted, the rest through Chronicle's lookup),"
                + " %d pre-images logged", read, written, inPlace, inserted, preImages);
    }

    private long totalWrites() {
        long n = 0;
        for (ColdTable t : tables) {
            n += t.counters().rowsWritten();
        }
        return n;
    }

    private void checkOpen() {
        if (closed) {
            throw new StoreException("store " + dir + " is closed");
        }
    }

    /**
     * Closes the store. Updates since the last checkpoint are rolled back at the next open. Without
     * an undo log, a store written since its last checkpoint stays marked unrestorable.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (mbeans != null) {
            mbeans.close();
        }
        boolean restorable = config.undoLog() || totalWrites() == writesAtCheckpoint;
        closeQuietly(tables, pool, undo);
        if (restorable) {
            try {
                AtomicFiles.replace(dir.resolve(UNDO_SEAL), seal(dir.resolve(UNDO_LOG)).getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
                try {
                    Files.deleteIfExists(dir.resolve(UNDO_SEAL)); // no seal: the next open trusts the log as after a crash
                } catch (IOException ignored) {
                    // nothing more to do on a failing disk
                }
            }
            try {
                Files.deleteIfExists(dir.resolve(OPEN_MARKER));
            } catch (IOException ignored) {
                // the next open then runs Chronicle's recovery: slower, still correct
            }
        }
        lock.close();
    }

    private static void closeQuietly(List<ColdTable> tables, WorkerPool pool, UndoLog undo) {
        for (ColdTable t : tables) {
            try {
                t.close();
            } catch (RuntimeException ignored) {
                // closing the rest matters more
            }
        }
        if (pool != null) {
            pool.close();
        }
        if (undo != null) {
            try {
                undo.close();
            } catch (IOException ignored) {
                // nothing pending: every append was forced
            }
        }
    }
}

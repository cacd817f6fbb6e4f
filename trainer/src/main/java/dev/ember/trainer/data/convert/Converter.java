package dev.ember.trainer.data.convert;

import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.data.CriteoSchema;
import dev.ember.trainer.data.binary.BinaryLayout;
import dev.ember.trainer.data.text.BlockReader;
import dev.ember.trainer.data.text.TextBlock;
import dev.ember.trainer.data.vocab.KeyDictionary;
import dev.ember.trainer.data.vocab.Vocabularies;
import dev.ember.trainer.data.vocab.Vocabulary;
import dev.ember.trainer.data.vocab.VocabularySettings;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Converts Criteo TSV into a conversion folder: {@code data.bin} ({@link BinaryLayout}),
 * {@code vocab/table-NN.vocab}, {@code malformed.tsv} and {@code meta.json} (written last).
 *
 * <p>One pass over the text: a reader thread cuts the file into blocks of whole lines; parsing
 * threads turn each block into columns with worker-local ids (see {@link ChunkWorker}). Then the
 * local dictionaries are merged into one vocabulary per table (or mapped through reused ones),
 * and the columns are copied into {@code data.bin} with their final ids, in parallel. Ids, the
 * order of samples and the vocabularies do not depend on the thread count.
 *
 * <p>{@code -Dember.convert.timing=true} prints the time of each phase to stderr.
 */
public final class Converter {
    /** Malformed lines named in the result and meta.json; malformed.tsv lists up to {@link #RECORDED}. */
    public static final int REPORTED = 20;
    public static final int RECORDED = 100_000;
    static final int BLOCK_BYTES = 4 << 20;

    private final ConvertSettings s;
    private final int blockBytes;

    public Converter(ConvertSettings settings) {
        this(settings, BLOCK_BYTES);
    }

    /** With small blocks, tests exercise many blocks and workers on small files. */
    Converter(ConvertSettings settings, int blockBytes) {
        this.s = settings;
        this.blockBytes = blockBytes;
    }

    /**
     * Converts {@code settings.input()} unless an up-to-date conversion exists, then opens it:
     * what {@code ember train --data FILE} does with a TSV file.
     */
    public static BinaryDataset convertAndOpen(ConvertSettings settings) throws IOException {
        return BinaryDataset.open(new Converter(settings).run().outDir());
    }

    /** Converts, or returns at once when the folder holds an up-to-date conversion. */
    public ConvertResult run() throws IOException {
        long t0 = System.nanoTime();
        Path in = s.input();
        if (!Files.isRegularFile(in)) {
            throw new IOException("input not found: " + in);
        }
        Files.createDirectories(s.outDir());
        // one conversion per folder at a time: a second one fails at once instead of mixing files
        try (FileChannel lockFile = FileChannel.open(s.outDir().resolve(".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
             java.nio.channels.FileLock lock = lockFile.tryLock()) {
            if (lock == null) {
                throw new IOException("another conversion is writing " + s.outDir() + " (wait for it, or pick --out)");
            }
            return runLocked(t0);
        } catch (java.nio.channels.OverlappingFileLockException e) {
            throw new IOException("another conversion in this process is writing " + s.outDir(), e);
        }
    }

    private ConvertResult runLocked(long t0) throws IOException {
        Path in = s.input();
        ConvertResult current = upToDate();
        if (current != null) {
            return current;
        }
        Files.deleteIfExists(s.outDir().resolve(ConversionMeta.FILE));
        Vocabularies reused = null;
        Path vocabDir = s.outDir().resolve("vocab");
        if (s.reuseVocab() != null) {
            reused = Vocabularies.load(s.reuseVocab(), null);
            vocabDir = s.reuseVocab();
        }
        int threads = s.threads();
        ChunkWorker[] workers = new ChunkWorker[threads];
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "ember-convert");
            t.setDaemon(true);
            return t;
        });
        try {
            for (int w = 0; w < threads; w++) {
                workers[w] = new ChunkWorker(w, s.multiHot(), s.maxBag(), s.outDir().resolve("tmp-" + w + ".seg"));
            }
            long inputBytes = parseAll(workers, pool);
            long t1 = System.nanoTime();
            List<Segment> segments = new ArrayList<>();
            for (ChunkWorker w : workers) {
                segments.addAll(w.segments);
            }
            segments.sort(Comparator.comparingLong(seg -> seg.seq));
            long[] linesBefore = new long[segments.size() + 1];
            for (int i = 0; i < segments.size(); i++) {
                linesBefore[i + 1] = linesBefore[i] + segments.get(i).lines;
            }
            List<Malformed> problems = malformed(workers, segments, linesBefore);
            long malformedCount = Arrays.stream(workers).mapToLong(w -> w.malformed).sum();
            if (s.strict() && malformedCount > 0) {
                throw new MalformedLineException(in.toString(), problems.get(0));
            }
            Vocabularies vocab = reused != null ? reused : build(workers, pool);
            long t2 = System.nanoTime();
            if (reused != null) {
                mapLocalIds(workers, vocab, pool);
            }
            long t3 = System.nanoTime();
            if (reused == null) {
                vocab.save(vocabDir);
            }
            BinaryLayout layout = write(workers, segments, vocab, pool);
            long t4 = System.nanoTime();
            if (Boolean.getBoolean("ember.convert.timing")) {
                System.err.printf("parse %.2f s, vocab %.2f s, map %.2f s, write %.2f s%n", (t1 - t0) / 1e9,
                        (t2 - t1) / 1e9, (t3 - t2) / 1e9, (t4 - t3) / 1e9);
            }
            writeMalformed(problems);
            double seconds = (System.nanoTime() - t0) / 1e9;
            ConversionMeta meta = meta(layout, vocab, vocabDir, linesBefore[segments.size()], malformedCount, problems,
                    seconds);
            meta.write(s.outDir());
            return result(meta, reused != null, false, inputBytes);
        } finally {
            pool.shutdownNow();
            for (ChunkWorker w : workers) {
                if (w != null) {
                    w.close();
                    Files.deleteIfExists(w.tempFile);
                }
            }
        }
    }

    private ConvertResult upToDate() throws IOException {
        Path dir = s.outDir();
        if (s.force() || !Files.isRegularFile(dir.resolve(ConversionMeta.FILE))
                || !Files.isRegularFile(dir.resolve(BinaryDataset.DATA_FILE))) {
            return null;
        }
        ConversionMeta m;
        try {
            m = ConversionMeta.read(dir);
        } catch (IOException e) {
            return null; // unreadable: convert again
        }
        Path in = s.input();
        VocabularySettings v = s.vocabulary();
        String vocabDir = s.reuseVocab() != null ? s.reuseVocab().toAbsolutePath().toString()
                : dir.resolve("vocab").toAbsolutePath().toString();
        boolean same = m.version() == ConversionMeta.VERSION
                && m.source().equals(in.toAbsolutePath().toString())
                && m.sourceBytes() == Files.size(in)
                && m.sourceModifiedMillis() == Files.getLastModifiedTime(in).toMillis()
                && m.multiHot() == s.multiHot() && m.maxBag() == s.maxBag()
                && m.testFraction() == s.testFraction()
                && m.vocabDir().equals(vocabDir)
                && (s.reuseVocab() != null || (m.minCount() == v.minCount() && Arrays.equals(m.caps(), v.caps())
                && m.order().equals(v.order().name())))
                && Vocabularies.existIn(Path.of(m.vocabDir()));
        if (!same) {
            return null;
        }
        // check the data file is whole
        BinaryDataset.open(dir);
        return result(m, true, true, m.sourceBytes());
    }

    private ConvertResult result(ConversionMeta m, boolean vocabReused, boolean upToDate, long inputBytes) {
        List<Malformed> first = new ArrayList<>();
        for (String line : m.firstMalformed()) {
            int tab = line.indexOf('\t');
            first.add(new Malformed(Long.parseLong(line.substring(0, tab)), line.substring(tab + 1)));
        }
        return new ConvertResult(s.outDir(), upToDate, vocabReused || upToDate, m.samples(), m.trainSamples(),
                m.lines(), m.malformed(), first, m.rows(), inputBytes, m.seconds());
    }

    /** The text pass: the calling thread reads blocks, the pool parses them. */
    private long parseAll(ChunkWorker[] workers, ExecutorService pool) throws IOException {
        int threads = workers.length;
        BlockingQueue<TextBlock> free = new ArrayBlockingQueue<>(threads * 2 + 1);
        BlockingQueue<TextBlock> work = new ArrayBlockingQueue<>(threads * 2 + 1);
        for (int i = 0; i < threads * 2 + 1; i++) {
            free.add(new TextBlock(blockBytes));
        }
        TextBlock end = new TextBlock(1);
        AtomicBoolean stop = new AtomicBoolean();
        List<Future<?>> running = new ArrayList<>();
        for (ChunkWorker w : workers) {
            running.add(pool.submit(() -> {
                while (true) {
                    TextBlock b = work.take();
                    if (b == end) {
                        return null;
                    }
                    try {
                        if (!w.process(b, s.strict(), RECORDED)) {
                            stop.set(true);
                        }
                    } finally {
                        free.put(b);
                    }
                }
            }));
        }
        long size;
        ProgressBar bar = null;
        try (BlockReader reader = BlockReader.open(s.input())) {
            size = reader.fileSize();
            if (s.progress()) {
                bar = new ProgressBarBuilder().setTaskName("convert " + s.input().getFileName())
                        .setInitialMax(Math.max(1, size >> 20)).setUnit(" MiB", 1).setStyle(ProgressBarStyle.ASCII)
                        .continuousUpdate().build();
            }
            while (!stop.get()) {
                TextBlock b = takeChecked(free, running);
                if (!reader.next(b)) {
                    break;
                }
                putChecked(work, b, running);
                if (bar != null) {
                    bar.stepTo(reader.position() >> 20);
                }
            }
            for (int i = 0; i < threads; i++) {
                putChecked(work, end, running);
            }
            for (Future<?> f : running) {
                f.get();
            }
            if (bar != null) {
                bar.stepTo(bar.getMax());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("conversion interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw unwrap(e);
        } finally {
            if (bar != null) {
                bar.close();
            }
        }
        return size;
    }

    /** Throws a worker's failure, if one failed (workers only end early by failing). */
    private static void checkWorkers(List<Future<?>> running) throws InterruptedException,
            java.util.concurrent.ExecutionException {
        for (Future<?> f : running) {
            if (f.isDone()) {
                f.get();
            }
        }
    }

    /** Waits for a free block without hanging when the workers have died. */
    private static TextBlock takeChecked(BlockingQueue<TextBlock> q, List<Future<?>> running)
            throws InterruptedException, java.util.concurrent.ExecutionException {
        while (true) {
            TextBlock b = q.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
            if (b != null) {
                return b;
            }
            checkWorkers(running);
        }
    }

    private static void putChecked(BlockingQueue<TextBlock> q, TextBlock b, List<Future<?>> running)
            throws InterruptedException, java.util.concurrent.ExecutionException {
        while (!q.offer(b, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            checkWorkers(running);
        }
    }

    private static IOException unwrap(java.util.concurrent.ExecutionException e) {
        Throwable c = e.getCause();
        if (c instanceof IOException io) {
            return io;
        }
        if (c instanceof UncheckedIOException u) {
            return u.getCause();
        }
        if (c instanceof RuntimeException r) {
            throw r;
        }
        if (c instanceof Error err) {
            throw err;
        }
        return new IOException(c);
    }

    private static List<Malformed> malformed(ChunkWorker[] workers, List<Segment> segments, long[] linesBefore) {
        List<ChunkWorker.Problem> all = new ArrayList<>();
        for (ChunkWorker w : workers) {
            all.addAll(w.problems);
        }
        all.sort(Comparator.comparingLong(ChunkWorker.Problem::seq).thenComparingInt(ChunkWorker.Problem::line));
        // segments are sorted by seq and numbered 0.. without gaps
        List<Malformed> out = new ArrayList<>(all.size());
        for (ChunkWorker.Problem p : all) {
            out.add(new Malformed(linesBefore[(int) p.seq()] + p.line(), p.reason()));
        }
        return out;
    }

    /**
     * Merges the workers' dictionaries into one vocabulary per table, tables in parallel, and
     * gives every worker-local id its vocabulary id.
     */
    private Vocabularies build(ChunkWorker[] workers, ExecutorService pool) throws IOException {
        Vocabulary[] v = new Vocabulary[CriteoSchema.TABLES];
        forEachTable(pool, t -> {
            int expected = 0;
            for (ChunkWorker w : workers) {
                expected = Math.max(expected, w.dicts[t].size());
            }
            KeyDictionary m = new KeyDictionary(expected);
            for (ChunkWorker w : workers) {
                KeyDictionary d = w.dicts[t];
                for (int e = 0; e < d.size(); e++) {
                    d.setValue(e, m.add(d.key(e), d.count(e), d.first(e))); // local entry -> merged entry
                }
            }
            v[t] = Vocabulary.build(t, m, s.vocabulary());
            for (ChunkWorker w : workers) {
                KeyDictionary d = w.dicts[t];
                for (int e = 0; e < d.size(); e++) {
                    d.setValue(e, m.value(d.value(e))); // merged entry -> vocabulary id
                }
            }
        });
        return new Vocabularies(v, s.vocabulary());
    }

    /** Gives every worker-local id its id in reused vocabularies. */
    private void mapLocalIds(ChunkWorker[] workers, Vocabularies vocab, ExecutorService pool) throws IOException {
        forEachTable(pool, t -> {
            Vocabulary v = vocab.table(t);
            for (ChunkWorker w : workers) {
                KeyDictionary d = w.dicts[t];
                for (int e = 0; e < d.size(); e++) {
                    d.setValue(e, v.id(d.key(e)));
                }
            }
        });
    }

    private interface TableTask {
        void run(int table) throws IOException;
    }

    private static void forEachTable(ExecutorService pool, TableTask task) throws IOException {
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            int table = t;
            fs.add(pool.submit(() -> {
                task.run(table);
                return null;
            }));
        }
        try {
            for (Future<?> f : fs) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("conversion interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw unwrap(e);
        }
    }

    /** Lays out data.bin and copies every segment's columns into it, with vocabulary ids. */
    private BinaryLayout write(ChunkWorker[] workers, List<Segment> segments, Vocabularies vocab, ExecutorService pool)
            throws IOException {
        long samples = 0;
        long[] ids = new long[CriteoSchema.TABLES];
        for (Segment seg : segments) {
            seg.firstSample = samples;
            seg.firstId = ids.clone();
            samples += seg.samples;
            for (int t = 0; t < CriteoSchema.TABLES; t++) {
                ids[t] += seg.ids[t];
            }
        }
        int[] fixed = new int[CriteoSchema.TABLES];
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            long min = Long.MAX_VALUE;
            long max = Long.MIN_VALUE;
            for (ChunkWorker w : workers) {
                min = Math.min(min, w.bagMin[t]);
                max = Math.max(max, w.bagMax[t]);
            }
            fixed[t] = samples == 0 ? (s.multiHot() ? 0 : 1) : (min == max ? (int) min : -1);
        }
        long train = samples - Math.round(samples * s.testFraction());
        BinaryLayout layout = BinaryLayout.plan(samples, train, ids, fixed, vocab.rows());
        Path tmp = s.outDir().resolve(BinaryDataset.DATA_FILE + ".tmp");
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            writeFully(out, layout.header(), 0);
            List<Future<?>> fs = new ArrayList<>();
            for (ChunkWorker w : workers) {
                fs.add(pool.submit(() -> {
                    copySegments(w, layout, out);
                    return null;
                }));
            }
            try {
                for (Future<?> f : fs) {
                    f.get();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("conversion interrupted", e);
            } catch (java.util.concurrent.ExecutionException e) {
                throw unwrap(e);
            }
            ByteBuffer last = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            for (int t = 0; t < CriteoSchema.TABLES; t++) {
                if (fixed[t] < 0) {
                    last.clear();
                    last.putLong(0, ids[t]);
                    writeFully(out, last, layout.offsetsOffset(t) + samples * 8);
                }
            }
            if (out.size() < layout.fileSize()) {
                writeFully(out, ByteBuffer.allocate(1), layout.fileSize() - 1);
            }
        }
        Files.move(tmp, s.outDir().resolve(BinaryDataset.DATA_FILE), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
        return layout;
    }

    private void copySegments(ChunkWorker w, BinaryLayout layout, FileChannel out) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer offs = ByteBuffer.allocateDirect(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        int[] scratch = new int[1 << 14];
        for (Segment seg : w.segments) {
            if (seg.samples == 0) {
                continue;
            }
            if (buf.capacity() < seg.bytes) {
                buf = ByteBuffer.allocateDirect((int) seg.bytes).order(ByteOrder.LITTLE_ENDIAN);
            }
            buf.clear().limit((int) seg.bytes);
            while (buf.hasRemaining()) {
                if (w.temp().read(buf, seg.tempOffset + buf.position()) < 0) {
                    throw new IOException("temporary file " + w.tempFile + " is short");
                }
            }
            int n = seg.samples;
            int at = 0;
            writeFully(out, buf.duplicate().position(at).limit(at + n), layout.labelsOffset() + seg.firstSample);
            at += n;
            int denseBytes = 4 * CriteoSchema.DENSE * n;
            writeFully(out, buf.duplicate().position(at).limit(at + denseBytes),
                    layout.denseOffset() + seg.firstSample * 4L * CriteoSchema.DENSE);
            at += denseBytes;
            for (int t = 0; t < CriteoSchema.TABLES; t++) {
                if (s.multiHot()) {
                    if (layout.fixedBag(t) < 0) {
                        if (offs.capacity() < 8 * n) {
                            offs = ByteBuffer.allocateDirect(8 * n).order(ByteOrder.LITTLE_ENDIAN);
                        }
                        offs.clear();
                        long o = seg.firstId[t];
                        for (int i = 0; i < n; i++) {
                            offs.putLong(o);
                            o += buf.getInt(at + 4 * i);
                        }
                        offs.flip();
                        writeFully(out, offs, layout.offsetsOffset(t) + seg.firstSample * 8);
                    }
                    at += 4 * n;
                }
                int m = seg.ids[t];
                if (scratch.length < m) {
                    scratch = new int[Math.max(m, scratch.length * 2)];
                }
                IntBuffer ib = buf.duplicate().position(at).limit(at + 4 * m).slice()
                        .order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
                ib.get(0, scratch, 0, m);
                w.dicts[t].mapToValues(scratch, m);
                ib.put(0, scratch, 0, m);
                writeFully(out, buf.duplicate().position(at).limit(at + 4 * m), layout.idsOffset(t) + seg.firstId[t] * 4);
                at += 4 * m;
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            pos += ch.write(b, pos);
        }
    }

    private void writeMalformed(List<Malformed> problems) throws IOException {
        Path f = s.outDir().resolve("malformed.tsv");
        if (problems.isEmpty()) {
            Files.deleteIfExists(f);
            return;
        }
        try (BufferedWriter w = Files.newBufferedWriter(f)) {
            w.write("line\treason\n");
            for (Malformed m : problems) {
                w.write(m.line() + "\t" + m.reason() + "\n");
            }
        }
    }

    private ConversionMeta meta(BinaryLayout layout, Vocabularies vocab, Path vocabDir, long lines, long malformed,
                                List<Malformed> problems, double seconds) throws IOException {
        Path in = s.input();
        List<String> first = new ArrayList<>();
        for (int i = 0; i < Math.min(REPORTED, problems.size()); i++) {
            first.add(problems.get(i).line() + "\t" + problems.get(i).reason());
        }
        long[] distinct = new long[CriteoSchema.TABLES];
        int[] fixed = new int[CriteoSchema.TABLES];
        for (int t = 0; t < CriteoSchema.TABLES; t++) {
            distinct[t] = vocab.table(t).distinct();
            fixed[t] = layout.fixedBag(t);
        }
        VocabularySettings v = vocab.settings();
        return new ConversionMeta(ConversionMeta.VERSION, in.toAbsolutePath().toString(), Files.size(in),
                Files.getLastModifiedTime(in).toMillis(), s.multiHot(), s.maxBag(), v.minCount(), v.caps(),
                v.order().name(), vocabDir.toAbsolutePath().toString(), s.testFraction(), layout.samples(),
                layout.trainSamples(), lines, malformed, first, vocab.rows(), distinct, fixed, seconds);
    }
}

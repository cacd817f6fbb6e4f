package dev.ember.trainer.data.gen;

import dev.ember.trainer.data.CriteoSchema;
import dev.ember.trainer.data.text.DenseTransform;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.GZIPOutputStream;

/**
 * Writes Criteo-format TSV from a {@link PlantedModel} and the ceilings beside it. Samples come
 * in chunks of {@value #CHUNK}, each with a random stream keyed by (seed, chunk), generated in
 * parallel and written in order: the output does not depend on the thread count.
 *
 * <p>The ceilings are scored on the held-out part, so it is drawn first (its chunks drawn again
 * when written give the same samples): its label, planted logit and signal rows are kept
 * (off-heap), and its signal rows are the ones whose posterior weight ({@link RowPosteriors}) the
 * training samples then feed, from every generating thread.
 */
public final class Generator {
    static final int CHUNK = 1 << 14;
    private static final byte[] HEX = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private final GenSettings s;
    private final PlantedModel model;
    private final ZipfSampler[] zipf = new ZipfSampler[CriteoSchema.TABLES];
    private final int[] signal;
    /** Per signal table: what the training part reveals of the held-out part's rows. */
    private final RowPosteriors[] posteriors;
    private final ThreadLocal<RowPosteriors.Scratch[]> scratch;
    private final long train;
    private final long driftAt;
    // held-out part
    private final byte[] heldLabel;
    private final float[] heldPlanted;
    private final double[] heldBase;
    /**
     * Held-out sample h's q-th row in signal table j at int index
     * {@code (h * signal.length + j) * maxBag + q} (-1 past the bag's end).
     */
    private final ByteBuffer heldRow;
    private final int maxBag;

    public Generator(GenSettings settings) {
        this.s = settings;
        int[] rows = CriteoSchema.kaggleRows(settings.scale());
        double[] alpha = PlantedModel.defaultAlpha(settings.seed());
        if (!Double.isNaN(settings.alpha())) {
            java.util.Arrays.fill(alpha, settings.alpha());
        }
        this.model = new PlantedModel(settings.seed(), rows, alpha, settings.drift());
        for (int t = 0; t < zipf.length; t++) {
            zipf[t] = new ZipfSampler(rows[t], alpha[t]);
        }
        this.signal = model.signalTables();
        this.posteriors = new RowPosteriors[signal.length];
        for (int j = 0; j < signal.length; j++) {
            posteriors[j] = new RowPosteriors(model, signal[j], rows[signal[j]] * (settings.drift() > 0 ? 2 : 1));
        }
        this.scratch = ThreadLocal.withInitial(() -> {
            RowPosteriors.Scratch[] sc = new RowPosteriors.Scratch[signal.length];
            for (int j = 0; j < sc.length; j++) {
                sc[j] = new RowPosteriors.Scratch();
            }
            return sc;
        });
        this.train = settings.trainSamples();
        this.driftAt = settings.drift() > 0 ? settings.driftAt() : Long.MAX_VALUE;
        long held = settings.samples() - train;
        if (held > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("held-out part too large: " + held + " samples");
        }
        heldLabel = new byte[(int) held];
        heldPlanted = new float[(int) held];
        heldBase = new double[(int) held];
        this.maxBag = settings.maxBag();
        if (held * signal.length * maxBag * 4 > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("held-out part too large: " + held + " samples (lower --samples)");
        }
        heldRow = ByteBuffer.allocateDirect((int) (held * signal.length * maxBag * 4)).order(ByteOrder.nativeOrder());
    }

    public PlantedModel model() {
        return model;
    }

    /** Writes the data and the ceilings; returns the ceilings. */
    public static Ceilings run(GenSettings settings) throws IOException {
        return new Generator(settings).generate();
    }

    private record Chunk(byte[] bytes, int length, double[] weightSum, long[] occurrences, long clicks) {
    }

    public Ceilings generate() throws IOException {
        long n = s.samples();
        long chunks = (n + CHUNK - 1) / CHUNK;
        double[] weightSum = new double[signal.length];
        long[] occurrences = new long[signal.length];
        long clicks = 0;
        ExecutorService pool = Executors.newFixedThreadPool(s.threads(), r -> {
            Thread t = new Thread(r, "ember-gen-data");
            t.setDaemon(true);
            return t;
        });
        Path tmp = s.out().resolveSibling(s.out().getFileName() + ".tmp");
        ProgressBar bar = s.progress() ? new ProgressBarBuilder().setTaskName("gen-data").setInitialMax(n)
                .setStyle(ProgressBarStyle.ASCII).setUnit(" samples", 1).continuousUpdate().build() : null;
        try (OutputStream out = open(tmp)) {
            drawHeldOut(pool, chunks);
            ArrayDeque<Future<Chunk>> window = new ArrayDeque<>();
            long next = 0;
            for (long c = 0; c < chunks; c++) {
                while (next < chunks && window.size() < s.threads() * 3) {
                    long chunk = next++;
                    window.add(pool.submit(() -> chunk(chunk, true)));
                }
                Chunk done = window.poll().get();
                out.write(done.bytes, 0, done.length);
                for (int j = 0; j < signal.length; j++) {
                    weightSum[j] += done.weightSum[j];
                    occurrences[j] += done.occurrences[j];
                }
                clicks += done.clicks;
                if (bar != null) {
                    bar.stepTo(Math.min(n, (c + 1) * CHUNK));
                }
            }
            computeMeans(pool);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("generation interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(e.getCause());
        } finally {
            pool.shutdownNow();
            if (bar != null) {
                bar.close();
            }
        }
        Files.move(tmp, s.out(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Ceilings c = ceilings(weightSum, occurrences, clicks);
        c.write(s.ceilingsFile());
        return c;
    }

    /** Draws the chunks that hold the held-out part, keeping its samples, and marks its signal rows. */
    private void drawHeldOut(ExecutorService pool, long chunks) throws InterruptedException, ExecutionException {
        java.util.List<Future<Chunk>> drawn = new java.util.ArrayList<>();
        for (long c = train / CHUNK; c < chunks; c++) {
            long chunk = c;
            drawn.add(pool.submit(() -> chunk(chunk, false)));
        }
        for (Future<Chunk> f : drawn) {
            f.get();
        }
        for (int j = 0; j < signal.length; j++) {
            for (int at = 0; at < heldRow.capacity(); at += Integer.BYTES * signal.length * maxBag) {
                for (int q = 0; q < maxBag; q++) {
                    int r = heldRow.getInt(at + (j * maxBag + q) * Integer.BYTES);
                    if (r >= 0) {
                        posteriors[j].mark(r);
                    }
                }
            }
            posteriors[j].seal();
        }
    }

    /** The posterior means of the held-out part's rows, in slot ranges on the pool. */
    private void computeMeans(ExecutorService pool) throws InterruptedException, ExecutionException {
        int part = 1 << 15;
        java.util.List<Future<?>> done = new java.util.ArrayList<>();
        for (RowPosteriors p : posteriors) {
            for (int from = 0; from < p.slots(); from += part) {
                int a = from;
                int b = Math.min(p.slots(), from + part);
                done.add(pool.submit(() -> p.computeMeans(a, b)));
            }
        }
        for (Future<?> f : done) {
            f.get();
        }
    }

    private OutputStream open(Path file) throws IOException {
        OutputStream raw = Files.newOutputStream(file);
        if (s.out().getFileName().toString().endsWith(".gz")) {
            return new GZIPOutputStream(raw, 1 << 16);
        }
        return new BufferedOutputStream(raw, 1 << 16);
    }

    /**
     * Draws chunk {@code c}. Writing: its text, and its training samples' statistics and
     * likelihoods. Not writing: only its held-out samples, kept.
     */
    private Chunk chunk(long c, boolean write) {
        long from = c * CHUNK;
        long to = Math.min(s.samples(), from + CHUNK);
        SplitMix rng = new SplitMix(SplitMix.hash(s.seed(), c, 404));
        byte[] b = new byte[write ? (int) (to - from) * 320 : 0];
        int p = 0;
        double[] wsum = new double[signal.length];
        long[] occ = new long[signal.length];
        long clicks = 0;
        long[] dense = new long[CriteoSchema.DENSE];
        int mb = maxBag;
        int[][] row = new int[CriteoSchema.TABLES][mb];
        int[] bag = new int[CriteoSchema.TABLES];
        double[] term = new double[CriteoSchema.TABLES];
        RowPosteriors.Scratch[] sc = write ? scratch.get() : null;
        for (long i = from; i < to; i++) {
            for (int d = 0; d < CriteoSchema.DENSE; d++) {
                dense[d] = PlantedModel.dense(d, rng);
            }
            float d0 = dense[0] == Long.MIN_VALUE ? 0f : DenseTransform.apply(dense[0]);
            double base = model.bias() + PlantedModel.denseTerm(d0);
            double logit = base;
            boolean drifted = i >= driftAt;
            for (int t = 0; t < CriteoSchema.TABLES; t++) {
                if (model.missingRate(t) > 0 && rng.nextDouble() < model.missingRate(t)) {
                    bag[t] = 0;
                    continue;
                }
                int n = mb == 1 ? 1 : 1 + rng.nextInt(mb);
                bag[t] = n;
                double w = 0;
                for (int q = 0; q < n; q++) {
                    long k = zipf[t].sample(rng);
                    row[t][q] = model.rowOfRank(t, k, drifted);
                    if (model.signal(t)) {
                        w += model.weight(t, row[t][q]);
                    }
                }
                if (model.signal(t)) {
                    term[t] = n == 1 ? w : w / n; // a bag contributes its mean weight
                    logit += term[t];
                }
            }
            boolean click = rng.nextDouble() * (1 + StrictMath.exp(-logit)) < 1; // u < sigmoid(logit)
            clicks += click ? 1 : 0;
            if (i < train) {
                if (write) {
                    learn(base, bag, row, term, click, sc, wsum, occ);
                }
            } else if (!write) {
                int h = (int) (i - train);
                heldLabel[h] = (byte) (click ? 1 : 0);
                heldPlanted[h] = (float) logit;
                heldBase[h] = base;
                for (int j = 0; j < signal.length; j++) {
                    int t = signal[j];
                    for (int q = 0; q < mb; q++) {
                        heldRow.putInt(((h * signal.length + j) * mb + q) * 4, q < bag[t] ? row[t][q] : -1);
                    }
                }
            }
            if (!write) {
                continue;
            }
            if (b.length - p < 400 + CriteoSchema.TABLES * 9 * mb) {
                b = java.util.Arrays.copyOf(b, b.length * 2 + CriteoSchema.TABLES * 9 * mb);
            }
            b[p++] = (byte) (click ? '1' : '0');
            for (int d = 0; d < CriteoSchema.DENSE; d++) {
                b[p++] = '\t';
                if (dense[d] != Long.MIN_VALUE) {
                    p = decimal(b, p, dense[d]);
                }
            }
            for (int t = 0; t < CriteoSchema.TABLES; t++) {
                b[p++] = '\t';
                for (int q = 0; q < bag[t]; q++) {
                    if (q > 0) {
                        b[p++] = ',';
                    }
                    long v = model.value(t, row[t][q]);
                    for (int sh = 28; sh >= 0; sh -= 4) {
                        b[p++] = HEX[(int) (v >>> sh) & 15];
                    }
                }
            }
            b[p++] = '\n';
        }
        if (write) {
            for (int j = 0; j < signal.length; j++) {
                posteriors[j].flush(sc[j]);
            }
        }
        return new Chunk(b, p, wsum, occ, clicks);
    }

    /**
     * A training sample's part in the ceilings: each signal row's occurrence (for the table mean)
     * and the sample's likelihood of the row's weight, the rest of the planted logit known.
     */
    private void learn(double base, int[] bag, int[][] row, double[] term, boolean click, RowPosteriors.Scratch[] sc,
                       double[] wsum, long[] occ) {
        double logit = base; // summed in signal-table order, as the oracle bound sums it from converted data
        for (int t : signal) {
            if (bag[t] > 0) {
                logit += term[t];
            }
        }
        for (int j = 0; j < signal.length; j++) {
            int t = signal[j];
            int n = bag[t];
            for (int q = 0; q < n; q++) {
                int r = row[t][q];
                double w = model.weight(t, r);
                wsum[j] += w;
                occ[j]++;
                int m = 0;
                boolean first = true;
                for (int u = 0; u < n; u++) {
                    m += row[t][u] == r ? 1 : 0;
                    first &= u >= q || row[t][u] != r;
                }
                if (first) { // a row held m times in a bag of n weighs m/n of its weight
                    double coef = n == 1 ? 1.0 : (double) m / n;
                    posteriors[j].add(sc[j], r, logit - coef * w, coef, click, m);
                }
            }
        }
    }

    private static int decimal(byte[] b, int p, long v) {
        if (v < 0) {
            b[p++] = '-';
            v = -v;
        }
        int start = p;
        do {
            b[p++] = (byte) ('0' + v % 10);
            v /= 10;
        } while (v != 0);
        for (int i = start, j = p - 1; i < j; i++, j--) {
            byte x = b[i];
            b[i] = b[j];
            b[j] = x;
        }
        return p;
    }

    private Ceilings ceilings(double[] weightSum, long[] occurrences, long clicks) {
        int held = heldLabel.length;
        float[] learnable = new float[held];
        float[] seen = new float[held];
        double[] tableMean = new double[signal.length];
        for (int j = 0; j < signal.length; j++) {
            tableMean[j] = occurrences[j] == 0 ? 0 : weightSum[j] / occurrences[j];
        }
        int k = s.trueWeightsMinCount();
        for (int h = 0; h < held; h++) {
            double learned = heldBase[h];
            double known = heldBase[h];
            for (int j = 0; j < signal.length; j++) {
                double wl = 0;
                double wk = 0;
                int n = 0;
                for (int q = 0; q < maxBag; q++) {
                    int r = heldRow.getInt(((h * signal.length + j) * maxBag + q) * 4);
                    if (r >= 0) {
                        wl += posteriors[j].mean(r);
                        wk += posteriors[j].count(r) >= k ? model.weight(signal[j], r) : tableMean[j];
                        n++;
                    }
                }
                if (n > 0) {
                    learned += n == 1 ? wl : wl / n;
                    known += n == 1 ? wk : wk / n;
                }
            }
            learnable[h] = (float) learned;
            seen[h] = (float) known;
        }
        int[] rows = new int[CriteoSchema.TABLES];
        double[] alpha = new double[CriteoSchema.TABLES];
        for (int t = 0; t < rows.length; t++) {
            rows[t] = model.rows(t);
            alpha[t] = model.alpha(t);
        }
        return new Ceilings(s.samples(), s.seed(), s.scale(), s.drift(), s.drift() > 0 ? s.driftAt() : -1, maxBag, alpha,
                rows, signal, model.bias(), PlantedModel.TABLE_STD, PlantedModel.DENSE_WEIGHT, s.testFraction(), train,
                held, (double) clicks / s.samples(), Auc.of(heldPlanted, heldLabel, held),
                Auc.of(learnable, heldLabel, held), Auc.of(seen, heldLabel, held), k);
    }
}

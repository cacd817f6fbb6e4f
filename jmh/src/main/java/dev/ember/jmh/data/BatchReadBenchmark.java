package dev.ember.jmh.data;

import dev.ember.trainer.data.Batch;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.data.DataPart;
import dev.ember.trainer.data.convert.ConvertSettings;
import dev.ember.trainer.data.convert.Converter;
import dev.ember.trainer.data.gen.GenSettings;
import dev.ember.trainer.data.gen.Generator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * How fast the trainer can read batches of the binary form: one thread, the training part of a
 * converted 1M-sample file (page cache warm), batches of {@code batch} samples. Score: batches/s;
 * samples/s is the score times {@code batch}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class BatchReadBenchmark {
    static final int SAMPLES = 1_000_000;

    @Param({"2048", "8192"})
    public int batch;

    private DataPart part;
    private Batch out;
    private long next;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        Path dir = Path.of(System.getProperty("ember.bench.dir", System.getProperty("java.io.tmpdir")))
                .resolve("ember-bench-data");
        Files.createDirectories(dir);
        Path tsv = dir.resolve("criteo-" + SAMPLES + ".tsv");
        if (!Files.exists(tsv)) {
            Generator.run(GenSettings.defaults(tsv, SAMPLES, 1));
        }
        BinaryDataset data = Converter.convertAndOpen(ConvertSettings.defaults(tsv));
        part = data.train();
        out = new Batch(batch);
    }

    @Benchmark
    public int readBatch() {
        long n = part.batches(batch);
        part.read(next, out);
        next = (next + 1) % n;
        return out.size();
    }
}

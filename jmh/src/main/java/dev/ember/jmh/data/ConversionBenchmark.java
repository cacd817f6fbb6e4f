package dev.ember.jmh.data;

import dev.ember.trainer.data.convert.ConvertResult;
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

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Conversion throughput of a generated Criteo file against a plain line-splitting loop over the
 * same file in the same run: {@code BufferedReader.readLine} + {@code String.split("\t")}, one
 * thread, touching every field. One shot = one whole pass over the file; divide the file size
 * and sample count (printed at setup) by the time for MB/s and samples/s.
 *
 * <p>The file is generated once into {@code -Dember.bench.dir} (default: the temp folder) and
 * reused; the first (warm-up) shot brings it into the page cache for both benchmarks.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xmx6g"})
public class ConversionBenchmark {
    @Param({"2000000"})
    public long samples;

    private Path tsv;
    private ConvertSettings settings;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        Path dir = Path.of(System.getProperty("ember.bench.dir", System.getProperty("java.io.tmpdir")))
                .resolve("ember-bench-data");
        Files.createDirectories(dir);
        tsv = dir.resolve("criteo-" + samples + ".tsv");
        if (!Files.exists(tsv) || !Files.exists(dir.resolve(tsv.getFileName() + ".json"))) {
            Generator.run(GenSettings.defaults(tsv, samples, 1));
        }
        settings = ConvertSettings.defaults(tsv).withForce(true);
        System.out.printf("%n[data] %s: %,d samples, %,d bytes, %d cores%n", tsv, samples, Files.size(tsv),
                Runtime.getRuntime().availableProcessors());
    }

    @Benchmark
    public long convert() throws IOException {
        ConvertResult r = new Converter(settings).run();
        return r.samples();
    }

    @Benchmark
    public long plainSplit() throws IOException {
        long fields = 0;
        try (BufferedReader in = Files.newBufferedReader(tsv, StandardCharsets.US_ASCII)) {
            String line;
            while ((line = in.readLine()) != null) {
                for (String f : line.split("\t", -1)) {
                    fields += f.length();
                }
            }
        }
        return fields;
    }
}

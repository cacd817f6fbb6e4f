package dev.ember.jmh.data;

import com.sun.management.OperatingSystemMXBean;
import dev.ember.trainer.data.convert.ConvertSettings;
import dev.ember.trainer.data.convert.Converter;
import dev.ember.trainer.data.gen.GenSettings;
import dev.ember.trainer.data.gen.Generator;

import java.io.BufferedReader;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A paired companion to {@link ConversionBenchmark} for shared machines: alternates one
 * conversion and one plain split over the same file, round after round, so both see the same
 * load, and prints each round's wall and process-CPU times and the median ratio. Usage:
 * {@code java -cp jmh/target/benchmarks.jar dev.ember.jmh.data.ConversionRatio SAMPLES ROUNDS}
 * (the file is generated into {@code -Dember.bench.dir}, default the temp folder, if missing).
 */
public final class ConversionRatio {
    private ConversionRatio() {
    }

    public static void main(String[] args) throws IOException {
        long samples = args.length > 0 ? Long.parseLong(args[0]) : 2_000_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        Path dir = Path.of(System.getProperty("ember.bench.dir", System.getProperty("java.io.tmpdir")))
                .resolve("ember-bench-data");
        Files.createDirectories(dir);
        Path tsv = dir.resolve("criteo-" + samples + ".tsv");
        if (!Files.exists(tsv) || !Files.exists(dir.resolve(tsv.getFileName() + ".json"))) {
            Generator.run(GenSettings.defaults(tsv, samples, 1));
        }
        long bytes = Files.size(tsv);
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        ConvertSettings settings = ConvertSettings.defaults(tsv).withForce(true);
        System.out.printf("%s: %,d samples, %,d bytes, %d cores%n", tsv, samples, bytes,
                Runtime.getRuntime().availableProcessors());
        // warm-up: one of each (page cache, JIT)
        new Converter(settings).run();
        split(tsv);
        double[] ratio = new double[rounds];
        double[] convertWall = new double[rounds];
        double[] splitWall = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            long c0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            new Converter(settings).run();
            long t1 = System.nanoTime();
            long c1 = os.getProcessCpuTime();
            split(tsv);
            long t2 = System.nanoTime();
            long c2 = os.getProcessCpuTime();
            convertWall[r] = (t1 - t0) / 1e9;
            splitWall[r] = (t2 - t1) / 1e9;
            ratio[r] = convertWall[r] / splitWall[r];
            System.out.printf("round %d: convert %.2f s wall (%.2f s cpu, %.0f MB/s, %.2f M samples/s), "
                            + "split %.2f s wall (%.2f s cpu, %.0f MB/s), ratio %.2f%n", r + 1, convertWall[r],
                    (c1 - c0) / 1e9, bytes / 1e6 / convertWall[r], samples / 1e6 / convertWall[r], splitWall[r],
                    (c2 - c1) / 1e9, bytes / 1e6 / splitWall[r], ratio[r]);
        }
        System.out.printf("median: convert %.2f s, split %.2f s, ratio %.2f (best %.2f)%n", median(convertWall),
                median(splitWall), median(ratio), Arrays.stream(ratio).min().orElse(Double.NaN));
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** The plain loop {@link ConversionBenchmark#plainSplit} runs. */
    static long split(Path tsv) throws IOException {
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

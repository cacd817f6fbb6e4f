package dev.ember.trainer.train;

import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.testing.StoreDigest;
import dev.ember.trainer.model.DenseOptimizer;
import dev.ember.trainer.cli.EmberCli;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.model.ModelConfig;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SIGKILL of a real {@code ember train --mode M --resume} child JVM (EmberCli on the test class
 * path with {@code etc/jvm.options}) at uniformly drawn moments, in the {@code cache}, {@code fae}
 * and {@code device} modes (20 kills in all, at least 5 inside a checkpoint write): a quarter
 * anywhere from the JVM's start, a quarter within 0.6 s after a checkpoint is done, half inside a
 * checkpoint write (after the trainer's "checkpoint begins" debug line, before its "checkpoint
 * done"). After every kill the store reopens at the last completed checkpoint (or the one being written, when the
 * kill came after its manifest's rename) and equals the digest of the trained state (every row of
 * every table, the MLP weights, fae's data position; see {@link #digest}) of an in-process
 * reference run of the same mode stopped at that step. Then {@code --resume} finishes, and the
 * model equals the uninterrupted run's bit for bit. While the children run, their
 * {@code /proc/<pid>/fd} is sampled: no network socket is ever open.
 */
class TrainKillTest {
    private static final int MAX_RUNS = 40;
    private static final int BATCH = 128;
    private static final int EVERY = 5;
    private static final String BOT = "13-16-16";
    private static final String TOP = "16-1";
    /** What `ember train --lr 1.0` trains with by default: row-wise Adagrad tables (state killed mid-update too). */
    private static final Recipe RECIPE = new Recipe(1, Optimizer.ROWWISE_ADAGRAD, Recipe.ADAGRAD_EMBEDDING_LR,
            DenseOptimizer.SGD, 1.0f, 0);
    private static final ModelConfig MODEL = ModelConfig.dlrm(26, BOT, TOP);
    private static final Pattern MARK = Pattern.compile("(training from|checkpoint begins at|checkpoint done at) step (\\d+)");

    @TempDir
    static Path shared;
    static Path converted;
    static BinaryDataset data;

    @TempDir
    Path dir;

    @BeforeAll
    static void generate() throws IOException {
        converted = GeneratedData.converted(shared, 20_000, 8);
        data = BinaryDataset.open(converted.resolve(BinaryDataset.DATA_FILE));
    }

    @ParameterizedTest(name = "{0}: {1} kills, {2} inside a checkpoint")
    @CsvSource({"CACHE, 8, 2", "FAE, 6, 2", "DEVICE, 6, 1"})
    void everyReopenAfterSigkillEqualsItsCheckpointAndResumeFinishesWithTheUninterruptedModel(Mode mode, int minKills,
                                                                                              int minInside) throws Exception {
        Path crashed = dir.resolve("crashed");
        Path reference = dir.resolve("reference");
        Map<Long, Long> digests = new HashMap<>();
        long referenceAt = -1;
        SplittableRandom rnd = new SplittableRandom(2026);
        ConcurrentLinkedQueue<String> sockets = new ConcurrentLinkedQueue<>();
        long startupNanos = 2_000_000_000L;
        long checkpointNanos = 5_000_000L;
        long lastDone = -1;
        int kills = 0;
        int inside = 0;
        for (int run = 0; run < MAX_RUNS && (kills < minKills || inside < minInside); run++) {
            Process child = start(mode, crashed, converted, 1_000_000);
            long launched = System.nanoTime();
            BlockingQueue<String> lines = new LinkedBlockingQueue<>();
            Thread reader = pump(child, lines);
            Thread watcher = watchSockets(child, sockets);
            List<String> seen = new ArrayList<>();
            int kind = run == 0 ? 1 : run % 4; // 0: from JVM start; 1: in training; 2, 3: in a checkpoint
            try {
                if (kind == 0) {
                    sleep((long) (rnd.nextDouble() * startupNanos));
                } else {
                    String started = await(lines, seen, "training from", child);
                    startupNanos = (startupNanos + Long.parseLong(started.split(" ")[0]) - launched) / 2;
                    if (kind == 1) {
                        // after a checkpoint is done, so that every mode's store moves on past its first
                        await(lines, seen, "checkpoint done at", child);
                        sleep((long) (rnd.nextDouble() * 600_000_000L));
                    } else {
                        await(lines, seen, "checkpoint begins at", child);
                        sleep((long) (rnd.nextDouble() * checkpointNanos * 1.2));
                    }
                }
            } finally {
                child.destroyForcibly(); // SIGKILL on Linux
                assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child did not die");
                reader.join();
                watcher.join();
            }
            lines.drainTo(seen);
            kills++;
            long begun = -1;
            long begunAt = 0;
            boolean open = false;
            for (String l : seen) {
                Matcher m = MARK.matcher(l);
                if (!m.find()) {
                    continue;
                }
                long at = Long.parseLong(l.substring(0, l.indexOf(' ')));
                long step = Long.parseLong(m.group(2));
                if (m.group(1).equals("checkpoint begins at")) {
                    begun = step;
                    begunAt = at;
                    open = true;
                } else if (m.group(1).equals("checkpoint done at")) {
                    lastDone = step;
                    checkpointNanos = (checkpointNanos + at - begunAt) / 2;
                    open = false;
                }
            }
            if (open) {
                inside++;
            }
            if (!Files.exists(crashed.resolve(Store.MANIFEST))) {
                assertEquals(-1, lastDone, "a checkpoint was reported but the store has no manifest");
                deleteTree(crashed); // killed inside the store's creation: nothing to keep yet
                continue;
            }
            try (Store s = Store.open(crashed, StoreConfig.builder().jmx(false).build())) {
                long step = s.lastCheckpoint().step();
                if (open) {
                    assertTrue(step == begun || step == lastDone || (lastDone == -1 && step == 0),
                            "run " + run + ": killed inside checkpoint " + begun + " (last done " + lastDone + "), reopened at " + step);
                } else if (lastDone >= 0) {
                    assertEquals(lastDone, step, "run " + run + ": reopened at the wrong checkpoint");
                }
                if (!digests.containsKey(step)) {
                    referenceAt = extendReference(mode, reference, referenceAt, step, digests);
                }
                Long want = digests.get(step);
                assertNotNull(want, "no reference digest for step " + step);
                assertEquals(want.longValue(), digest(s), "run " + run + " (kind " + kind + "): state after reopen differs from checkpoint " + step);
                lastDone = step;
            }
        }
        assertTrue(kills >= minKills, mode + ": only " + kills + " kills");
        assertTrue(inside >= minInside, mode + ": only " + inside + " of " + kills + " kills landed inside a checkpoint");
        long total = Math.max(lastDone, 0) + 3 * EVERY + 2;
        Process last = start(mode, crashed, converted, total);
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = pump(last, lines);
        Thread watcher = watchSockets(last, sockets);
        assertTrue(last.waitFor(120, TimeUnit.SECONDS), "the resumed run did not finish");
        reader.join();
        watcher.join();
        List<String> out = new ArrayList<>();
        lines.drainTo(out);
        assertEquals(0, last.exitValue(), "resumed run failed: " + out);
        Path straight = dir.resolve("uninterrupted");
        train(mode, straight, total, false);
        assertArrayEquals(model(straight), model(crashed), "MLP weights of the killed-and-resumed run");
        assertEquals(digestOf(straight), digestOf(crashed), "every row and blob of the killed-and-resumed run");
        List<String> network = sockets.stream()
                .filter(x -> !x.endsWith(" in unix") && !x.endsWith(" in netlink") && !x.endsWith(" in unlisted")).toList();
        assertTrue(network.isEmpty(), "a training child held a network socket: " + network);
        System.out.println("local sockets seen in the children: " + sockets);
        System.out.printf("%s: kills %d, inside a checkpoint %d, last checkpoint before the final resume %d, final step %d%n",
                mode, kills, inside, lastDone, total);
    }

    /** Runs the in-process reference on to {@code step} (resuming its own store), recording its digest. */
    private long extendReference(Mode mode, Path store, long at, long step, Map<Long, Long> digests) {
        if (step < at) {
            throw new AssertionError("the crashed store went back to step " + step + " after " + at);
        }
        if (step == 0) {
            // what `ember train` creates before its first step: the data's tables, the run's seed
            Store.create(store, StoreConfig.builder().tables(Trainer.tableSpecs(data, 26, MODEL.dim(),
                    RECIPE.embeddingOptimizer())).seed(3).threads(1)
                    .jmx(false).build()).close();
        } else {
            train(mode, store, step, at >= 0);
        }
        try (Store s = Store.open(store, StoreConfig.builder().jmx(false).build())) {
            assertEquals(step, s.lastCheckpoint().step());
            digests.put(step, digest(s));
        }
        return step;
    }

    private static void train(Mode mode, Path store, long steps, boolean resume) {
        TrainSettings s = new TrainSettings(mode, store, BATCH, steps, 1.0f, 3, 1, 256, EVERY, resume, false, "host",
                TrainSettings.DEFAULT_BUDGET, RECIPE);
        new Trainer(s, MODEL).run(data, step -> { });
    }

    private static long digestOf(Path store) {
        try (Store s = Store.open(store, StoreConfig.builder().jmx(false).build())) {
            return digest(s);
        }
    }

    /**
     * The trained state: every row of every table, the step, the model blob (MLP weights and
     * dense optimizer state) and fae's data position (absent in the other modes). The tiering blobs (hot set, knob, popularity, hit counts) are left
     * out: in cache mode they also count the batches announced for prefetch past the checkpoint,
     * so a run stopped at step s and one killed after s place rows differently at s; placement
     * never changes a trained value (cache and baseline are bit-identical), and the final check
     * compares the resumed run's rows and weights with the uninterrupted run's.
     */
    private static long digest(Store s) {
        return ((StoreDigest.of(s) * 31 + s.lastCheckpoint().step()) * 31
                + Arrays.hashCode(s.lastCheckpoint().blobs().get(Trainer.MODEL_BLOB))) * 31
                + Arrays.hashCode(s.lastCheckpoint().blobs().get(FaeBatches.BLOB));
    }

    private static byte[] model(Path store) {
        return Store.readManifest(store).blobs().get(Trainer.MODEL_BLOB);
    }

    /** A real {@code ember train} JVM: EmberCli on the test class path, Ember's JVM flags, the trainer's debug lines. */
    private static Process start(Mode mode, Path store, Path data, long steps) throws IOException {
        String root = System.getProperty("ember.root");
        assertNotNull(root, "system property ember.root is not set (surefire sets it)");
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + Path.of(root, "etc", "jvm.options"),
                "-Xmx256m", "-XX:TieredStopAtLevel=1",
                "-Dorg.slf4j.simpleLogger.log." + Trainer.class.getName() + "=debug",
                "-cp", System.getProperty("java.class.path"),
                EmberCli.class.getName(), "train", "--resume", "--mode", mode.label(), "--device", "host",
                "--data", data.toString(), "--store", store.toString(), "--batch", Integer.toString(BATCH),
                "--steps", Long.toString(steps), "--checkpoint-every", Integer.toString(EVERY), "--lr", "1.0",
                "--seed", "3", "--threads", "1", "--eval-samples", "256", "--no-progress",
                "--arch-mlp-bot", BOT, "--arch-mlp-top", TOP));
        return new ProcessBuilder(cmd).redirectErrorStream(true).directory(new File(root)).start();
    }

    private static Thread pump(Process child, BlockingQueue<String> lines) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    lines.add(System.nanoTime() + " " + l);
                }
            } catch (IOException ignored) {
                // the child was killed
            }
        });
        t.start();
        return t;
    }

    /** Samples the child's open files every few milliseconds; any socket is recorded. */
    private static Thread watchSockets(Process child, ConcurrentLinkedQueue<String> sockets) {
        Path fds = Path.of("/proc", Long.toString(child.pid()), "fd");
        Thread t = new Thread(() -> {
            while (child.isAlive()) {
                File[] files = fds.toFile().listFiles();
                for (File f : files == null ? new File[0] : files) {
                    try {
                        String target = Files.readSymbolicLink(f.toPath()).toString();
                        if (target.startsWith("socket:[")) {
                            String inode = target.substring(8, target.length() - 1);
                            String net = networkTableOf(child.pid(), inode);
                            String entry = "pid " + child.pid() + " fd " + f.getName() + " -> " + target + " in " + net;
                            if (!sockets.contains(entry)) {
                                sockets.add(entry);
                            }
                        }
                    } catch (IOException | UnsupportedOperationException ignored) {
                        // closed meanwhile
                    }
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * Which of the process's socket tables lists {@code inode}. A socket that sends or receives
     * over a network is bound, so it is listed in a network table (tcp, udp, raw, icmp and their
     * v6 forms); unix and netlink sockets are local; "unlisted" is a socket in no table, which
     * cannot carry network traffic: the JDK's own pre-close socket pair of FileChannel
     * (sun.nio.ch.FileDispatcherImpl, one end closed; {@code ss -x} shows it as u_str) is one.
     */
    private static String networkTableOf(long pid, String inode) {
        for (String table : new String[] {"tcp", "tcp6", "udp", "udp6", "raw", "raw6", "icmp", "icmp6", "udplite", "udplite6", "packet", "unix", "netlink"}) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "net", table))) {
                    if (Arrays.asList(line.trim().split("\\s+")).contains(inode)) {
                        return table;
                    }
                }
            } catch (IOException e) {
                // the table is missing or the process is gone
            }
        }
        return "unlisted";
    }

    private static String await(BlockingQueue<String> lines, List<String> seen, String marker, Process child)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String l = lines.poll(20, TimeUnit.MILLISECONDS);
            if (l == null) {
                if (!child.isAlive() && lines.isEmpty()) {
                    throw new AssertionError("child exited with " + child.exitValue() + " before '" + marker + "': " + seen);
                }
                continue;
            }
            seen.add(l);
            if (l.contains(marker)) {
                return l;
            }
        }
        throw new AssertionError("no '" + marker + "' from the child in 60 s: " + seen);
    }

    private static void sleep(long nanos) throws InterruptedException {
        TimeUnit.NANOSECONDS.sleep(nanos);
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var walk = Files.walk(p)) {
            for (Path q : walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.delete(q);
            }
        }
    }
}

package dev.ember.trainer.report;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The GPU bundle's runtime draws text on a host with no font libraries and no fonts: a jlink image
 * of java.desktop from this JDK, given its font libraries and DejaVu Sans by etc/bundle-fonts.sh
 * (as `ember bundle` does), draws SansSerif text into a PNG under scripts/bare-host.sh, where this
 * machine's libraries (but glibc and libstdc++) and fonts are hidden. The same image without its
 * copy of harfbuzz fails there, naming it: the namespace does hide the system's.
 */
class BundledFontsTest {
    @TempDir
    Path dir;

    @Test
    void bundledRuntimeDrawsTextWithoutTheHostsFontLibraries() throws Exception {
        Path root = Path.of(System.getProperty("ember.root", "."));
        Path jdk = Path.of(System.getProperty("java.home"));
        Path bundleFonts = root.resolve("etc/bundle-fonts.sh");
        Path bareHost = root.resolve("scripts/bare-host.sh");
        assumeTrue(Files.isExecutable(bundleFonts) && Files.isExecutable(bareHost),
                "needs the source tree's etc/bundle-fonts.sh and scripts/bare-host.sh (not in a bundle)");
        assumeTrue(Files.isDirectory(jdk.resolve("jmods")), "needs a JDK with jmods to jlink an image: " + jdk);
        Result dpkg = run(List.of("dpkg-query", "--version"));
        assumeTrue(dpkg.code == 0, "etc/bundle-fonts.sh takes the libraries' licenses from dpkg, which is missing");
        Result probe = run(List.of(bareHost.toString(), "true"));
        assumeTrue(probe.code != 3, () -> "no bare-host namespace here: " + probe.output);
        assertEquals(0, probe.code, probe.output);

        Path runtime = dir.resolve("runtime");
        Result jlink = run(List.of(jdk.resolve("bin/jlink").toString(), "--add-modules", "java.desktop",
                "--strip-debug", "--no-header-files", "--no-man-pages", "--output", runtime.toString()));
        assertEquals(0, jlink.code, jlink.output);
        Result fonts = run(List.of(bundleFonts.toString(), runtime.toString()));
        assertEquals(0, fonts.code, fonts.output);

        String manifest = Files.readString(runtime.resolve("legal/native/MANIFEST"));
        for (String file : new String[] {"lib/libharfbuzz.so.0", "lib/libfreetype.so.6", "lib/fonts/DejaVuSans.ttf"}) {
            assertTrue(manifest.contains("\n" + file + " "), file + " not in the manifest:\n" + manifest);
        }
        for (String line : manifest.split("\n")) {
            if (!line.startsWith("#")) {
                String[] f = line.split(" ");
                assertTrue(Files.isRegularFile(runtime.resolve(f[0])), line);
                assertTrue(Files.isRegularFile(runtime.resolve("legal/native/" + f[1] + ".copyright")), line);
            }
        }

        Path png = dir.resolve("text.png");
        Result drawn = draw(root, bareHost, runtime, png);
        assertEquals(0, drawn.code, drawn.output);
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(DrawTextProbe.WIDTH, image.getWidth());
        assertTrue(darkPixels(image, 0, 28) > 150, "no bold title text drawn: " + darkPixels(image, 0, 28));
        assertTrue(darkPixels(image, 30, DrawTextProbe.HEIGHT) > 100, "no plain text drawn");

        Files.delete(runtime.resolve("lib/libharfbuzz.so.0"));
        Result without = draw(root, bareHost, runtime, dir.resolve("none.png"));
        assertNotEquals(0, without.code, without.output);
        assertTrue(without.output.contains("libharfbuzz.so.0"), without.output);
    }

    /** The probe in the bare namespace, with the project's JVM flags (modules this image lacks only warn). */
    private Result draw(Path root, Path bareHost, Path runtime, Path png) throws IOException, InterruptedException {
        Path classes = Path.of(DrawTextProbe.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        return run(List.of(bareHost.toString(), runtime.resolve("bin/java").toString(), "@" + root.resolve("etc/jvm.options"),
                "-Xmx64m", "-cp", classes.toString(), DrawTextProbe.class.getName(), png.toString()));
    }

    /** Nearly black pixels in rows [from, to). */
    private static int darkPixels(BufferedImage image, int from, int to) {
        int n = 0;
        for (int y = from; y < to; y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                Color c = new Color(image.getRGB(x, y));
                n += c.getRed() < 80 && c.getGreen() < 80 && c.getBlue() < 80 ? 1 : 0;
            }
        }
        return n;
    }

    private record Result(int code, String output) {
    }

    private Result run(List<String> cmd) throws IOException, InterruptedException {
        Path log = Files.createTempFile(dir, "cmd", ".log");
        Process p;
        try {
            p = new ProcessBuilder(new ArrayList<>(cmd)).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
        } catch (IOException e) {
            return new Result(127, cmd.get(0) + ": " + e.getMessage());
        }
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(124, String.join(" ", cmd) + ": no exit in 120 s\n" + Files.readString(log, StandardCharsets.UTF_8));
        }
        return new Result(p.exitValue(), String.join(" ", cmd) + "\n" + Files.readString(log, StandardCharsets.UTF_8));
    }
}

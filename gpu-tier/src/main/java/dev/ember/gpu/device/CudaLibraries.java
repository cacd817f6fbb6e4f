package dev.ember.gpu.device;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Finds the CUDA libraries the org.bytedeco bindings link against before touching them, so a
 * missing one is named ("libnvrtc.so.13 (NVRTC) not found in ...") instead of surfacing as an
 * UnsatisfiedLinkError deep inside JavaCPP. Looks where the dynamic loader looks: LD_LIBRARY_PATH,
 * the directories of /etc/ld.so.conf.d, and the usual system and CUDA directories.
 */
public final class CudaLibraries {
    /** The driver (libcuda), the runtime (libcudart) and NVRTC: what {@link CudaDevice} needs. */
    public static final List<String[]> REQUIRED = List.of(
            new String[] {"libcuda.so.1", "the NVIDIA driver"},
            new String[] {"libcudart.so.13", "the CUDA 13 runtime"},
            new String[] {"libnvrtc.so.13", "NVRTC, CUDA 13's run-time compiler"});
    /** cuBLAS, needed only by the trainer's dense compute. */
    public static final List<String[]> CUBLAS = List.of(
            new String[] {"libcublas.so.13", "cuBLAS 13"},
            new String[] {"libcublasLt.so.13", "cuBLASLt 13"});

    private CudaLibraries() {
    }

    /** Descriptions of the libraries in {@code libs} that cannot be found; empty when all are present. */
    public static List<String> missing(List<String[]> libs) {
        Set<Path> dirs = searchPath();
        List<String> out = new ArrayList<>();
        for (String[] lib : libs) {
            if (find(lib[0], dirs) == null) {
                out.add(lib[0] + " (" + lib[1] + ")");
            }
        }
        return out;
    }

    /** A one-line explanation of what is missing, or null when nothing is. */
    public static String explainMissing(List<String[]> libs) {
        List<String> m = missing(libs);
        if (m.isEmpty()) {
            return null;
        }
        return String.join(", ", m) + " not found on the library path (LD_LIBRARY_PATH, /etc/ld.so.conf.d, "
                + "/usr/local/cuda/lib64); install the NVIDIA driver and the CUDA 13 runtime libraries or add "
                + "their directory to LD_LIBRARY_PATH";
    }

    private static Path find(String name, Set<Path> dirs) {
        for (Path d : dirs) {
            Path p = d.resolve(name);
            if (Files.exists(p)) {
                return p;
            }
        }
        return null;
    }

    private static Set<Path> searchPath() {
        Set<Path> dirs = new LinkedHashSet<>();
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) {
            for (String s : ld.split(":")) {
                if (!s.isEmpty()) {
                    dirs.add(Paths.get(s));
                }
            }
        }
        Path conf = Paths.get("/etc/ld.so.conf.d");
        if (Files.isDirectory(conf)) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(conf, "*.conf")) {
                for (Path f : files) {
                    for (String line : Files.readAllLines(f)) {
                        String s = line.strip();
                        if (s.startsWith("/")) {
                            dirs.add(Paths.get(s));
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                // An unreadable loader config only narrows the search.
            }
        }
        for (String s : new String[] {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
                "/usr/lib", "/lib", "/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib",
                "/usr/local/nvidia/lib64", "/usr/lib/wsl/lib"}) {
            dirs.add(Paths.get(s));
        }
        return dirs;
    }
}

package dev.ember.cache.cold;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;

/** The free space of a path's file system, for error messages about full disks. */
public final class SpaceText {
    private SpaceText() {
    }

    /** "N bytes free on <file system> (<path>)", or why that is unknown. */
    public static String usable(Path path) {
        try {
            Path existing = path;
            while (existing != null && !Files.exists(existing)) {
                existing = existing.getParent();
            }
            if (existing == null) {
                return "free space unknown";
            }
            FileStore fs = Files.getFileStore(existing);
            return fs.getUsableSpace() + " bytes free on " + fs + " (" + existing + ")";
        } catch (IOException | RuntimeException e) {
            return "free space unknown: " + e.getMessage();
        }
    }
}

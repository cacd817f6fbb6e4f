package dev.ember.cache.jmx;

/** {@code dev.ember:type=Store}: the open store and its checkpoints. */
public interface StoreMXBean {
    String getDirectory();

    String[] getTables();

    /** Training step recorded by the last completed checkpoint. */
    long getLastCheckpointStep();

    /** Wall-clock time of the last completed checkpoint, ISO-8601 UTC. */
    String getLastCheckpointTime();

    /** Checkpoints completed since the store was created. */
    long getCheckpointEpoch();

    /** How long the last checkpoint taken by this process took, in milliseconds (-1: none yet). */
    double getLastCheckpointMillis();

    /** Bytes the last checkpoint wrote: the manifest plus the pre-images it retired. */
    long getLastCheckpointBytes();

    /** Bytes of pre-images now in the undo log. */
    long getUndoLogBytes();

    boolean isUndoLogEnabled();
}

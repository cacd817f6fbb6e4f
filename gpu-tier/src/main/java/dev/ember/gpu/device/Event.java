package dev.ember.gpu.device;

/** A point in a stream's work. */
public interface Event extends AutoCloseable {

    /** Moves the event to the current end of {@code stream}'s work (events are reused, not re-created). */
    void record(Stream stream);

    /** Blocks until the work before the event is done. */
    void synchronize();

    /** Whether the work before the event is done, without waiting (an event never recorded is done). */
    boolean isDone();

    @Override
    void close();
}

package dev.ember.cache.hot;

/**
 * A point in a {@link HotTier}'s move work that any thread can wait for: the calls given it
 * ({@link HotTier#readLater}, {@link HotTier#promoteLater}) return before the device is done, and
 * their buffers are the caller's again once {@link #await} returns. Made by
 * {@link HotTier#newMoveMark}; freed with the tier.
 *
 * <p>Each call given a mark moves it past that call's work, so one wait covers every call since
 * the mark was last waited for. The thread that gives it to calls must not do so while another
 * thread waits for it.
 */
public interface MoveMark {

    /** Blocks (any thread) until the work of the calls given this mark is done; a device error is thrown here. */
    void await();

    /** Whether that work is done, without waiting. */
    boolean isDone();
}

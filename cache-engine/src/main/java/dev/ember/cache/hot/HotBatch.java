package dev.ember.cache.hot;

/**
 * A batch's pooled rows and per-bag gradients, living where the {@link HotTier} that made it
 * computes. Opaque on purpose: the trainer reaches the device buffers through the concrete class
 * of its tier; everything else moves data through the host copies below.
 *
 * <pre>
 *  pooled:    bag 0: dim floats | bag 1: dim floats | ...   (gather writes)
 *  gradients: bag 0: dim floats | bag 1: dim floats | ...   (apply reads)
 * </pre>
 */
public interface HotBatch extends AutoCloseable {

    int maxBags();

    int maxIds();

    int dim();

    /** Copies the first {@code bags} pooled bags into {@code dst} (waits for the gather). */
    default void readPooled(float[] dst, int bags) {
        readPooled(dst, 0, bags);
    }

    /** Copies pooled bags {@code [firstBag, firstBag + bags)} into {@code dst} from 0 (waits for the gather). */
    void readPooled(float[] dst, int firstBag, int bags);

    /** Sets the gradients of the first {@code bags} bags from {@code src}. */
    default void writeGradients(float[] src, int bags) {
        writeGradients(src, 0, bags);
    }

    /** Sets the gradients of bags {@code [firstBag, firstBag + bags)} from {@code src} (read from 0). */
    void writeGradients(float[] src, int firstBag, int bags);

    @Override
    void close();
}

package dev.ember.cache.hot;

/**
 * Where a batch put the rows it staged in reserved slots ({@link HotTier#reserveSlots}): the
 * slots a gather or apply uses for rows of one table the tier does not hold.
 */
@FunctionalInterface
public interface StagedRows {
    /** The reserved slot holding {@code row}, or -1 when the batch did not stage it. */
    long slotOf(long row);
}

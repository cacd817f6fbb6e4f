package dev.ember.trainer.train;

import dev.ember.trainer.data.Batch;
import dev.ember.trainer.data.DataPart;

/** File order: step {@code s} trains batch {@code s mod batches}, so a resumed run continues exactly. */
final class SequentialBatches implements BatchSource {
    private final DataPart part;
    private final int batchSize;
    private final long batches;
    private long step;

    SequentialBatches(DataPart part, int batchSize, long firstStep) {
        this.part = part;
        this.batchSize = batchSize;
        this.batches = part.batches(batchSize);
        this.step = firstStep;
    }

    @Override
    public boolean next(Batch out) {
        long first = (step % batches) * batchSize;
        int count = (int) Math.min(batchSize, part.samples() - first);
        part.dataset().read(part.start() + first, count, out);
        step++;
        return true;
    }
}

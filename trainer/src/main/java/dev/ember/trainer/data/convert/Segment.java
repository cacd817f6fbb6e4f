package dev.ember.trainer.data.convert;

/**
 * What one worker made of one text block: where its columns sit in the worker's temporary file
 * and how much they hold. Temporary file form, little-endian, per segment:
 * <pre>
 * labels   u8 [samples]
 * dense    f32[samples][13]
 * per table t:
 *   bag sizes i32[samples]     (multi-hot input only)
 *   ids       i32[ids[t]]      worker-local ids, mapped to vocabulary ids when written out
 * </pre>
 */
final class Segment {
    final long seq;
    final int worker;
    final long tempOffset;
    final long bytes;
    final int samples;
    final int lines;
    final int[] ids;
    long firstSample;
    long[] firstId;

    Segment(long seq, int worker, long tempOffset, long bytes, int samples, int lines, int[] ids) {
        this.seq = seq;
        this.worker = worker;
        this.tempOffset = tempOffset;
        this.bytes = bytes;
        this.samples = samples;
        this.lines = lines;
        this.ids = ids;
    }
}

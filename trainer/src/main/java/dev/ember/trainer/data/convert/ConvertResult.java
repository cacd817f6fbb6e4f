package dev.ember.trainer.data.convert;

import java.nio.file.Path;
import java.util.List;

/**
 * What a conversion did.
 *
 * @param outDir         the conversion folder
 * @param upToDate       nothing was done: an up-to-date conversion was found
 * @param vocabReused    vocabularies were loaded rather than built
 * @param samples        samples written
 * @param trainSamples   of which in the training part
 * @param lines          lines read
 * @param malformed      malformed lines skipped
 * @param firstMalformed the first malformed lines (at most {@link Converter#REPORTED}), in file order
 * @param rows           rows per table
 * @param inputBytes     bytes of the input file (compressed, for gzip)
 * @param seconds        wall time
 */
public record ConvertResult(Path outDir, boolean upToDate, boolean vocabReused, long samples, long trainSamples,
                            long lines, long malformed, List<Malformed> firstMalformed, int[] rows, long inputBytes,
                            double seconds) {
}

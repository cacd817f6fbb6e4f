/**
 * Training data: Criteo TSV in, a memory-mapped binary form out, batches for the trainer.
 *
 * <ul>
 *   <li>{@code text}: a streaming, allocation-free parser of Criteo lines (plain or gzip; empty
 *       fields; the multi-hot variant) and a text-to-batch reader used as the reference.</li>
 *   <li>{@code vocab}: off-heap dictionaries and per-table vocabularies (first-appearance or
 *       frequency order, a min-count threshold sharing id 0, optional caps hashing the tail).</li>
 *   <li>{@code convert}: the one-pass parallel conversion behind {@code ember convert}, with
 *       malformed-line reports and up-to-date detection.</li>
 *   <li>{@code binary}: the file layout ({@link dev.ember.trainer.data.binary.BinaryLayout}) and
 *       segmented memory mapping.</li>
 *   <li>{@code gen}: the synthetic data generator behind {@code ember gen-data}, its planted
 *       model and ceilings, and AUC.</li>
 * </ul>
 *
 * <p>For the trainer:
 * <pre>{@code
 * BinaryDataset data = Converter.convertAndOpen(ConvertSettings.defaults(tsv)); // or BinaryDataset.open(dir)
 * Batch batch = new Batch(4096);
 * DataPart train = data.train();
 * for (long i = 0; i < train.batches(batch.capacity()); i++) {
 *     train.read(i, batch); // labels, dense, ids(t) + offsets(t) for every table t
 * }
 * ProfileSampler profile = new ProfileSampler(train, ProfileSampler.DEFAULT_RATE, seed);
 * while (profile.next(batch)) { ... count ids ... }
 * }</pre>
 */
package dev.ember.trainer.data;

package dev.ember.trainer.train;

import dev.ember.cache.durability.Manifest;
import dev.ember.cache.store.Store;
import dev.ember.cache.store.StoreConfig;
import dev.ember.cache.table.Optimizer;
import dev.ember.cache.table.TableSpec;
import dev.ember.trainer.data.Batch;
import dev.ember.trainer.data.BinaryDataset;
import dev.ember.trainer.data.DataPart;
import dev.ember.trainer.model.DenseBackend;
import dev.ember.trainer.model.ModelConfig;
import dev.ember.trainer.model.ModelState;
import dev.ember.trainer.model.OptimizerSettings;
import dev.ember.trainer.model.StepLoss;
import dev.ember.trainer.model.cpu.CpuDenseBackend;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Trains one mode over a converted data set: batches in file order, embeddings through the
 * mode's {@link EmbeddingPath}, the dense model on a {@link DenseBackend}, checkpoints into the
 * store (the model's weights as the manifest blob {@value #MODEL_BLOB}), then an evaluation.
 *
 * <p>The data position is the step: step {@code s} trains on batch {@code s mod batches}, so a
 * resumed run continues exactly where its checkpoint stopped.
 */
public final class Trainer {
    /** Adagrad-style epsilon for embedding optimizers that need one. */
    public static final float EMBEDDING_EPS = 1e-8f;
    public static final String MODEL_BLOB = "model";

    private final TrainSettings settings;
    private final ModelConfig model;

    public Trainer(TrainSettings settings, ModelConfig model) {
        this.settings = settings;
        this.model = model;
    }

    /** Specs of the store's tables: one per data table, SGD rows of the model's width. */
    public static List<TableSpec> tableSpecs(BinaryDataset data, int tables, int dim) {
        List<TableSpec> specs = new ArrayList<>();
        for (int t = 0; t < tables; t++) {
            specs.add(new TableSpec(String.format("t%02d", t), Math.max(1, data.rows(t)), dim, Optimizer.SGD));
        }
        return specs;
    }

    /** Runs the mode; {@code onStep} hears each finished step (progress bars, MXBeans). */
    public ModeResult run(BinaryDataset data, LongConsumer onStep) {
        DataPart train = data.train();
        int batchSize = settings.batchSize();
        long batches = train.batches(batchSize);
        if (batches == 0) {
            throw new IllegalArgumentException("the training part has " + train.samples() + " samples, fewer than one batch of "
                    + batchSize + "; lower --batch or use more data");
        }
        long steps = settings.steps() > 0 ? settings.steps() : batches;
        int tables = model.tables();
        try (Store store = openStore(data, tables);
             EmbeddingPath path = new ColdEmbeddings(store, tables, batchSize);
             DenseBackend backend = new CpuDenseBackend(initialModel(store), batchSize, settings.threads())) {
            long step = settings.resume() && store.lastCheckpoint() != null ? store.lastCheckpoint().step() : 0;
            Batch batch = new Batch(batchSize);
            float[][] pooled = new float[tables][batchSize * model.dim()];
            float[][] grads = new float[tables][batchSize * model.dim()];
            double lastLoss = Double.NaN;
            long trained = 0;
            long start = System.nanoTime();
            for (; step < steps; step++) {
                long first = (step % batches) * batchSize;
                int count = (int) Math.min(batchSize, train.samples() - first);
                data.read(train.start() + first, count, batch);
                path.lookup(batch, pooled);
                backend.putDense(batch.dense(), 0, count);
                for (int t = 0; t < tables; t++) {
                    backend.putEmbedding(t, pooled[t], 0, count);
                }
                backend.putLabels(batch.labels(), 0, count);
                StepLoss loss = backend.step(count);
                for (int t = 0; t < tables; t++) {
                    backend.getEmbeddingGradient(t, grads[t], 0, count);
                }
                path.update(grads, settings.learningRate());
                trained += count;
                if (settings.checkpointEvery() > 0 && (step + 1) % settings.checkpointEvery() == 0) {
                    checkpoint(store, step + 1, backend);
                }
                if (step + 1 == steps) {
                    lastLoss = loss.mean();
                }
                onStep.accept(step + 1);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            checkpoint(store, steps, backend);
            Evaluation eval = Evaluation.run(data.test(), batchSize, settings.evalSamples(), path, backend, batch, pooled);
            PathCounters c = path.counters();
            return new ModeResult(settings.mode().label(), "host", steps, trained, batchSize, seconds,
                    trained / Math.max(seconds, 1e-9), eval.auc(), eval.logLoss(), eval.accuracy(), lastLoss,
                    c.hitRate(), c.hostGathers.sum(), c.coldGatherNanos.sum() / 1e9, eval.samples());
        }
    }

    private Store openStore(BinaryDataset data, int tables) {
        if (settings.resume() && Files.exists(settings.storeDir().resolve(Store.MANIFEST))) {
            return Store.open(settings.storeDir(), StoreConfig.existing());
        }
        if (Files.exists(settings.storeDir().resolve(Store.MANIFEST))) {
            throw new IllegalArgumentException("store " + settings.storeDir()
                    + " already holds a model; pass --resume to continue it or choose another --store");
        }
        return Store.create(settings.storeDir(), StoreConfig.builder()
                .tables(tableSpecs(data, tables, model.dim()))
                .seed(settings.seed())
                .threads(Math.max(1, settings.threads()))
                .build());
    }

    private ModelState initialModel(Store store) {
        Manifest last = settings.resume() ? store.lastCheckpoint() : null;
        if (last != null && last.blobs().containsKey(MODEL_BLOB)) {
            return ModelState.fromBytes(last.blobs().get(MODEL_BLOB));
        }
        return ModelState.initial(model, OptimizerSettings.sgd(settings.learningRate()), settings.seed());
    }

    private static void checkpoint(Store store, long step, DenseBackend backend) {
        store.checkpoint(step, new long[0], Map.of(MODEL_BLOB, backend.saveState().toBytes()));
    }
}

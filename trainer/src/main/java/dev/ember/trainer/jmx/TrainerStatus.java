package dev.ember.trainer.jmx;

import java.lang.management.ManagementFactory;
import javax.management.InstanceAlreadyExistsException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * The trainer's live status: written by the training thread after each step (a few volatile
 * stores, no allocation), read by JMX, the progress bar and the report. One writer only.
 */
public final class TrainerStatus implements TrainerMXBean {
    /** Weight of the newest step in the loss average (about the last 50 steps). */
    static final double LOSS_ALPHA = 0.02;

    private volatile String mode = "";
    private volatile long plannedSteps;
    private volatile long step;
    private volatile long samples;
    private volatile long trainingNanos;
    private volatile double loss = Double.NaN;
    private volatile double lastEvalAuc = Double.NaN;
    private volatile double lastEvalLogLoss = Double.NaN;
    private volatile long lastEvalStep = -1;

    public static ObjectName objectName() {
        try {
            return new ObjectName("dev.ember:type=Trainer");
        } catch (JMException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Resets for a new mode. */
    public void start(String mode, long firstStep, long plannedSteps) {
        this.mode = mode;
        this.step = firstStep;
        this.plannedSteps = plannedSteps;
        this.samples = 0;
        this.trainingNanos = 0;
        this.loss = Double.NaN;
        this.lastEvalAuc = Double.NaN;
        this.lastEvalLogLoss = Double.NaN;
        this.lastEvalStep = -1;
    }

    /** After a training step: the step count, its samples and loss, training nanoseconds so far. */
    public void onStep(long step, int batchSamples, double stepLoss, long trainingNanos) {
        double l = loss;
        loss = Double.isNaN(l) ? stepLoss : l + LOSS_ALPHA * (stepLoss - l);
        samples += batchSamples;
        this.trainingNanos = trainingNanos;
        this.step = step;
    }

    public void onEval(long step, double auc, double logLoss) {
        lastEvalAuc = auc;
        lastEvalLogLoss = logLoss;
        lastEvalStep = step;
    }

    /**
     * Registers this bean as {@code dev.ember:type=Trainer} in the platform MBean server until the
     * returned handle closes. A second trainer in one JVM gets {@code ,id=<n>} added.
     */
    public Registration register() {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = objectName();
        try {
            try {
                server.registerMBean(this, name);
            } catch (InstanceAlreadyExistsException e) {
                name = new ObjectName(name + ",id=" + System.identityHashCode(this));
                server.registerMBean(this, name);
            }
        } catch (JMException e) {
            throw new IllegalStateException("could not register the Trainer MXBean: " + e.getMessage(), e);
        }
        ObjectName registered = name;
        return () -> {
            try {
                server.unregisterMBean(registered);
            } catch (JMException ignored) {
                // already gone: nothing to undo
            }
        };
    }

    /** A registration that removes the bean when closed. */
    public interface Registration extends AutoCloseable {
        @Override
        void close();
    }

    @Override
    public String getMode() {
        return mode;
    }

    @Override
    public long getStep() {
        return step;
    }

    @Override
    public long getPlannedSteps() {
        return plannedSteps;
    }

    @Override
    public long getSamples() {
        return samples;
    }

    @Override
    public double getSamplesPerSecond() {
        long n = trainingNanos;
        return n == 0 ? 0 : samples / (n / 1e9);
    }

    @Override
    public double getLoss() {
        return loss;
    }

    @Override
    public double getLastEvalAuc() {
        return lastEvalAuc;
    }

    @Override
    public double getLastEvalLogLoss() {
        return lastEvalLogLoss;
    }

    @Override
    public long getLastEvalStep() {
        return lastEvalStep;
    }

    @Override
    public double getTrainingSeconds() {
        return trainingNanos / 1e9;
    }
}

package dev.ember.gpu;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ember.gpu.device.Device;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;
import org.opentest4j.TestAbortedException;

/**
 * The device lifecycle of a contract suite run once per backend: one device per class, opened
 * before the tests and closed after. When the backend is absent, every test is skipped with the
 * reason (not the class), so each backend reports the same test count.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class OnDeviceContract {
    /** The device under test; null when it is absent (the tests are then skipped). */
    protected Device device;
    private String skipped;

    /** Opens the device under test; skips through an assumption when it is absent. */
    protected abstract Device openDevice();

    @BeforeAll
    void openTheDevice() {
        try {
            device = openDevice();
        } catch (TestAbortedException e) {
            skipped = e.getMessage();
        }
    }

    @BeforeEach
    void requireTheDevice() {
        assumeTrue(skipped == null, () -> skipped);
    }

    @AfterAll
    void closeTheDevice() {
        if (device != null) {
            device.close();
        }
    }
}

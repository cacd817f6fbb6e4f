package dev.ember.gpu.device;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeviceSelectorTest {

    @Test
    void hostIsAlwaysThere() {
        try (Device d = DeviceSelector.open("host")) {
            assertEquals(Backend.HOST, d.backend());
        }
    }

    @Test
    void autoTakesCudaOrSaysWhyNot() {
        DeviceSelector.Selection s = DeviceSelector.select("auto");
        try (Device d = s.device()) {
            String why = CudaDevice.unavailableReason();
            if (why == null) {
                assertEquals(Backend.CUDA, d.backend());
            } else {
                assertTrue(s.passedOver().stream().anyMatch(p -> p.startsWith("cuda: ") && p.contains(why)), s.passedOver().toString());
                assertTrue(d.backend() != Backend.CUDA);
            }
        }
    }

    @Test
    void aMissingCudaLibraryIsNamed() {
        String why = CudaDevice.unavailableReason();
        if (why != null && !CudaLibraries.missing(CudaLibraries.REQUIRED).isEmpty()) {
            assertTrue(why.contains(".so."), why);
            DeviceException e = assertThrows(DeviceException.class, () -> DeviceSelector.open("cuda"));
            assertTrue(e.getMessage().contains(".so."), e.getMessage());
        } else {
            assertTrue(CudaLibraries.missing(CudaLibraries.REQUIRED).isEmpty());
        }
    }

    @Test
    void anUnknownNameIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceSelector.open("tpu"));
        assertTrue(e.getMessage().contains("auto, cuda, opencl, host"), e.getMessage());
    }
}

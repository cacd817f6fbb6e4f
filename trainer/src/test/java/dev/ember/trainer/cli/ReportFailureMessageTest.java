package dev.ember.trainer.cli;

import java.lang.reflect.InvocationTargetException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A failed --report names the innermost cause: a JVM without fonts throws an InternalError whose
 * message is only "InvocationTargetException", the reason two causes down.
 */
class ReportFailureMessageTest {
    @Test
    void namesTheInnermostCause() {
        Error fonts = new InternalError(new InvocationTargetException(
                new RuntimeException("Fontconfig head is null, check your fonts or fonts configuration")));
        assertEquals("java.lang.InternalError: java.lang.reflect.InvocationTargetException, caused by "
                + "java.lang.RuntimeException: Fontconfig head is null, check your fonts or fonts configuration",
                TrainCommand.withRootCause(fonts));
    }

    @Test
    void aFailureWithoutCauseIsItself() {
        UnsatisfiedLinkError link = new UnsatisfiedLinkError("libfontmanager.so: libharfbuzz.so.0: cannot open shared object file");
        assertEquals(link.toString(), TrainCommand.withRootCause(link));
    }
}

package dev.ember.trainer.data.convert;

import java.io.IOException;

/** Thrown in strict mode at the first malformed line (in file order). */
public final class MalformedLineException extends IOException {
    private static final long serialVersionUID = 1L;
    private final transient Malformed first;

    public MalformedLineException(String file, Malformed first) {
        super(file + ": " + first + " (strict mode stops at the first malformed line; drop --strict to skip and count them)");
        this.first = first;
    }

    public Malformed first() {
        return first;
    }
}

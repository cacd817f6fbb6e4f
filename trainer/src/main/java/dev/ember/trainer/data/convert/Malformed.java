package dev.ember.trainer.data.convert;

/** A malformed input line: its 1-based number in the file and why. */
public record Malformed(long line, String reason) {
    @Override
    public String toString() {
        return "line " + line + ": " + reason;
    }
}

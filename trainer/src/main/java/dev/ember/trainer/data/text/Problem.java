package dev.ember.trainer.data.text;

/** Why a line is malformed. {@link CriteoLineParser#problemField()} names the field. */
public enum Problem {
    NONE("ok"),
    EMPTY_LINE("empty line"),
    TOO_FEW_FIELDS("fewer than 40 tab-separated fields"),
    TOO_MANY_FIELDS("more than 40 tab-separated fields"),
    BAD_LABEL("label is not 0 or 1"),
    BAD_INTEGER("integer feature is not a decimal integer"),
    BAD_HEX("categorical feature is not hexadecimal (at most 15 digits)"),
    BAG_TOO_LARGE("categorical field holds more ids than the bag limit");

    private final String text;

    Problem(String text) {
        this.text = text;
    }

    /** A short human description. */
    public String text() {
        return text;
    }

    /** The description with the 1-based field number, e.g. "field 3: integer feature ...". */
    public String describe(int field) {
        return field > 0 ? "field " + field + ": " + text : text;
    }
}

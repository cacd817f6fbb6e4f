package dev.ember.cache.tiered;

import dev.ember.cache.knob.Budget;
import java.util.Locale;

/**
 * A {@link Budget} written as text, as people type it on a command line or in JConsole: whole
 * bytes with an optional binary suffix ({@code 67108864}, {@code 64MiB}, {@code 2G}), or a
 * fraction of all embedding bytes ({@code 0.1}, {@code 10%}).
 */
public final class BudgetText {
    private BudgetText() {
    }

    /** Parses {@code text}; an error names {@code setting} (the option or attribute to change). */
    public static Budget parse(String text, String setting) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException(setting + ": a budget is needed (bytes such as 64MiB, or a fraction such as 0.1 or 10%)");
        }
        String s = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (s.endsWith("%")) {
                return Budget.ofFraction(Double.parseDouble(s.substring(0, s.length() - 1).trim()) / 100.0);
            }
            if (s.contains(".") || s.contains("e")) {
                double f = Double.parseDouble(s);
                if (f > 1) {
                    throw new IllegalArgumentException(setting + ": " + text + " is neither a fraction in (0, 1] nor whole bytes");
                }
                return Budget.ofFraction(f);
            }
            long unit = 1;
            String digits = s;
            String[][] suffixes = {{"kib", "k"}, {"mib", "m"}, {"gib", "g"}, {"tib", "t"}};
            for (int i = 0; i < suffixes.length; i++) {
                for (String suffix : suffixes[i]) {
                    if (s.endsWith(suffix)) {
                        unit = 1L << (10 * (i + 1));
                        digits = s.substring(0, s.length() - suffix.length()).trim();
                    }
                }
                if (unit != 1) {
                    break;
                }
            }
            if (digits.endsWith("b")) {
                digits = digits.substring(0, digits.length() - 1).trim();
            }
            long n = Long.parseLong(digits);
            if (n <= 0) {
                throw new IllegalArgumentException(setting + ": budget must be > 0 bytes, got " + text);
            }
            return Budget.ofBytes(Math.multiplyExact(n, unit));
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException(setting + ": cannot read budget '" + text
                    + "' (bytes such as 67108864 or 64MiB, or a fraction such as 0.1 or 10%)");
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith(setting) ? e : new IllegalArgumentException(setting + ": " + e.getMessage());
        }
    }
}

package dev.ember.cache.store;

/** A store cannot be created, opened or changed as asked; the message names the file and the reason. */
public final class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StoreException(String message) {
        super(message);
    }

    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}

package dev.ember.trainer.data.vocab;

/** How a vocabulary numbers its values. */
public enum VocabularyOrder {
    /** In order of first appearance in the file (DLRM's preprocessing). */
    FIRST,
    /** Most frequent first; ties in order of first appearance. */
    FREQUENCY
}

package dev.realign.export;

/**
 * An export that cannot produce a correct GGUF file: an architecture, config value, tokenizer or adapter
 * feature llama.cpp cannot express, or input that is inconsistent. The message names the offending file,
 * field or tensor. No file is written when this is thrown.
 */
public class GgufExportException extends RuntimeException {
    public GgufExportException(String message) {
        super(message);
    }

    public GgufExportException(String message, Throwable cause) {
        super(message, cause);
    }
}

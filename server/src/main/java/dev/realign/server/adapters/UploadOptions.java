package dev.realign.server.adapters;

import java.nio.file.Path;

/**
 * Limits and place of {@code Adapters.Upload}.
 *
 * @param directory  where uploads are spooled and extracted; null = a fresh folder under java.io.tmpdir,
 *                   created at the first upload and removed when the server stops
 * @param maxBytes   the largest archive accepted (header.total_bytes and the bytes actually sent)
 * @param maxEntries the most entries (files and folders) an archive may hold
 * @param maxConcurrent uploads in progress at once (each may spool up to maxBytes and extract as much again)
 */
public record UploadOptions(Path directory, long maxBytes, int maxEntries, int maxConcurrent) {
    /** 4 GiB: any LoRA of a 70B model and the full fine-tune of a ~2B one in f16; more needs the option. */
    public static final long DEFAULT_MAX_MIB = 4096;
    /** An adapter folder holds a handful of files; a sharded checkpoint a few dozen. */
    public static final int DEFAULT_MAX_ENTRIES = 1000;
    public static final int DEFAULT_MAX_CONCURRENT = 4;
    public static final UploadOptions DEFAULTS = new UploadOptions(null, DEFAULT_MAX_MIB << 20, DEFAULT_MAX_ENTRIES,
            DEFAULT_MAX_CONCURRENT);

    public UploadOptions {
        if (maxBytes < 1 || maxEntries < 1 || maxConcurrent < 1) {
            throw new IllegalArgumentException("upload limits must be positive: max bytes " + maxBytes
                    + ", max entries " + maxEntries + ", concurrent uploads " + maxConcurrent);
        }
    }

    public UploadOptions(Path directory, long maxBytes, int maxEntries) {
        this(directory, maxBytes, maxEntries, DEFAULT_MAX_CONCURRENT);
    }

    public UploadOptions withDirectory(Path dir) {
        return new UploadOptions(dir, maxBytes, maxEntries, maxConcurrent);
    }

    public UploadOptions withMaxBytes(long bytes) {
        return new UploadOptions(directory, bytes, maxEntries, maxConcurrent);
    }

    public UploadOptions withMaxConcurrent(int uploads) {
        return new UploadOptions(directory, maxBytes, maxEntries, uploads);
    }
}

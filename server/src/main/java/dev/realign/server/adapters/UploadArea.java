package dev.realign.server.adapters;

import io.grpc.Status;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The server's own folder for uploads. Every upload gets a private work folder in it ({@link UploadSpool});
 * an extracted adapter stays there while a version of it is alive (checkpoints are memory-mapped, not
 * copied), and the folder goes when the version is freed or the upload fails.
 */
public final class UploadArea implements AutoCloseable {
    private final UploadOptions options;
    private final AtomicInteger inProgress = new AtomicInteger();
    private final PrivateFolders folders;

    public UploadArea(UploadOptions options) {
        this.options = options;
        this.folders = new PrivateFolders(options.directory(), "realign-uploads-", "upload directory");
    }

    public UploadOptions options() {
        return options;
    }

    /** The folder uploads go to, created on first use. */
    public Path root() {
        return folders.root();
    }

    /**
     * Starts one upload in a new private folder; checks the declared size against the limit first, so an
     * archive too large is refused before a byte is written.
     */
    public UploadSpool open(long declaredBytes, String sha256Hex) {
        UploadSpool.checkHeader(declaredBytes, sha256Hex, options);
        // Each upload may hold up to twice the limit on disk (archive, then extracted): bound how many run.
        if (inProgress.incrementAndGet() > options.maxConcurrent()) {
            inProgress.decrementAndGet();
            throw Status.RESOURCE_EXHAUSTED.withDescription("uploads: " + options.maxConcurrent() + " are in progress, "
                    + "the server's limit (serve --max-uploads); retry when one finishes").asRuntimeException();
        }
        try {
            Path work = folders.newFolder("upload-");
            return UploadSpool.start(work, declaredBytes, sha256Hex, options, inProgress::decrementAndGet);
        } catch (RuntimeException e) {
            inProgress.decrementAndGet();
            throw e;
        }
    }

    /** Uploads between their header and their end. */
    public int inProgress() {
        return inProgress.get();
    }

    /** Removes the folder if this server created it (an operator's --upload-dir is left, emptied of ours). */
    @Override
    public void close() {
        folders.close();
    }
}

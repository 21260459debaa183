package dev.realign.server.adapters;

import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's own folder for uploads. Every upload gets a private work folder in it ({@link UploadSpool});
 * an extracted adapter stays there while a version of it is alive (checkpoints are memory-mapped, not
 * copied), and the folder goes when the version is freed or the upload fails.
 */
public final class UploadArea implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(UploadArea.class);

    private final UploadOptions options;
    private final AtomicInteger inProgress = new AtomicInteger();
    private Path root;
    private boolean ours; // created by us under java.io.tmpdir: removed at close

    public UploadArea(UploadOptions options) {
        this.options = options;
    }

    public UploadOptions options() {
        return options;
    }

    /** The folder uploads go to, created on first use. */
    public synchronized Path root() {
        if (root == null) {
            try {
                if (options.directory() == null) {
                    root = Files.createTempDirectory("realign-uploads-");
                    ours = true;
                } else {
                    root = Files.createDirectories(options.directory()).toRealPath();
                }
            } catch (IOException e) {
                throw Status.UNAVAILABLE.withDescription("upload directory "
                        + (options.directory() == null ? "under java.io.tmpdir" : options.directory())
                        + " cannot be created: " + e.getMessage()).asRuntimeException();
            }
        }
        return root;
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
            Path work;
            try {
                work = createWorkFolder();
            } catch (IOException e) {
                throw Status.RESOURCE_EXHAUSTED.withDescription("upload directory " + root() + ": cannot create a "
                        + "work folder: " + e.getMessage()).asRuntimeException();
            }
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

    /** A private work folder: owner-only where the file system has POSIX permissions, plain elsewhere. */
    private Path createWorkFolder() throws IOException {
        try {
            return Files.createTempDirectory(root(), "upload-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (UnsupportedOperationException nonPosix) {
            return Files.createTempDirectory(root(), "upload-");
        }
    }

    /** Removes the folder if this server created it (an operator's --upload-dir is left, emptied of ours). */
    @Override
    public synchronized void close() {
        if (root != null && ours) {
            UploadSpool.deleteTree(root);
            log.debug("removed upload directory {}", root);
        }
    }
}

package dev.realign.server.jobs;

import dev.realign.server.adapters.UploadSpool;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's own folder for job results, kept the way {@code UploadArea} keeps uploaded adapters: each job
 * writes into a private folder; a registered result stays there while its adapter version is alive (the
 * checkpoint is memory-mapped, not copied) and is deleted when the version is freed; a failed or cancelled job's
 * folder is deleted at once.
 */
public final class JobOutputArea implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(JobOutputArea.class);

    private final Path configured;
    private Path root;
    private boolean ours; // created by us under java.io.tmpdir: removed at close

    public JobOutputArea(Path configured) {
        this.configured = configured;
    }

    /** A new private folder for one job's result. */
    public Path newFolder(String jobId) {
        try {
            try {
                return Files.createTempDirectory(root(), jobId + "-",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (UnsupportedOperationException nonPosix) {
                return Files.createTempDirectory(root(), jobId + "-");
            }
        } catch (IOException e) {
            throw Status.RESOURCE_EXHAUSTED.withDescription("job directory " + root + ": cannot create a folder: "
                    + e.getMessage()).asRuntimeException();
        }
    }

    /** Deletes a job's folder and everything in it. */
    public void delete(Path folder) {
        UploadSpool.deleteTree(folder);
    }

    synchronized Path root() throws IOException {
        if (root == null) {
            if (configured == null) {
                root = Files.createTempDirectory("realign-jobs-");
                ours = true;
            } else {
                root = Files.createDirectories(configured).toRealPath();
            }
        }
        return root;
    }

    @Override
    public synchronized void close() {
        if (root != null && ours) {
            UploadSpool.deleteTree(root);
            log.debug("removed job directory {}", root);
        }
    }
}

package dev.realign.server.adapters;

import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A server-owned folder that hands out private subfolders (uploads, job results): the operator's folder, left
 * in place at close, or a new one under java.io.tmpdir, removed at close. Created on first use, so a server
 * that never uploads or runs a job touches no disk.
 */
public final class PrivateFolders implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PrivateFolders.class);

    private final Path configured;
    private final String tempPrefix;
    private final String what;
    private Path root;
    private boolean ours; // created by us under java.io.tmpdir: removed at close

    /**
     * @param configured the operator's folder, or null for a temporary one
     * @param tempPrefix the temporary folder's name prefix
     * @param what       how errors name the folder ("upload directory", "job directory")
     */
    public PrivateFolders(Path configured, String tempPrefix, String what) {
        this.configured = configured;
        this.tempPrefix = tempPrefix;
        this.what = what;
    }

    /** The folder, created on first use; UNAVAILABLE naming it when it cannot be. */
    public synchronized Path root() {
        if (root == null) {
            try {
                if (configured == null) {
                    root = Files.createTempDirectory(tempPrefix);
                    ours = true;
                } else {
                    root = Files.createDirectories(configured).toRealPath();
                }
            } catch (IOException e) {
                throw Status.UNAVAILABLE.withDescription(what + " " + (configured == null ? "under java.io.tmpdir"
                        : configured) + " cannot be created: " + e.getMessage()).asRuntimeException();
            }
        }
        return root;
    }

    /**
     * A new subfolder only this process's user may read: owner-only where the file system has POSIX
     * permissions, plain elsewhere. RESOURCE_EXHAUSTED naming the folder when the disk refuses.
     */
    public Path newFolder(String prefix) {
        Path parent = root();
        try {
            try {
                return Files.createTempDirectory(parent, prefix,
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (UnsupportedOperationException nonPosix) {
                return Files.createTempDirectory(parent, prefix);
            }
        } catch (IOException e) {
            throw Status.RESOURCE_EXHAUSTED.withDescription(what + " " + parent + ": cannot create a folder: "
                    + e.getMessage()).asRuntimeException();
        }
    }

    /** Removes the folder if this process created it (an operator's folder is left, emptied of ours by their owners). */
    @Override
    public synchronized void close() {
        if (root != null && ours) {
            UploadSpool.deleteTree(root);
            log.debug("removed {} {}", what, root);
        }
    }
}

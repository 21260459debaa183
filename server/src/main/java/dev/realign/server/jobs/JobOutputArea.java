package dev.realign.server.jobs;

import dev.realign.server.adapters.PrivateFolders;
import dev.realign.server.adapters.UploadSpool;
import java.nio.file.Path;

/**
 * The server's own folder for job results, kept the way {@code UploadArea} keeps uploaded adapters: each job
 * writes into a private folder; a registered result stays there while its adapter version is alive (the
 * checkpoint is memory-mapped, not copied) and is deleted when the version is freed; a failed or cancelled job's
 * folder is deleted at once.
 */
public final class JobOutputArea implements AutoCloseable {
    private final PrivateFolders folders;

    /** @param configured {@code serve --job-dir}, or null for a temporary folder removed at close */
    public JobOutputArea(Path configured) {
        this.folders = new PrivateFolders(configured, "realign-jobs-", "job directory");
    }

    /** A new private folder for one job's result. */
    public Path newFolder(String jobId) {
        return folders.newFolder(jobId + "-");
    }

    /** Deletes a job's folder and everything in it. */
    public void delete(Path folder) {
        UploadSpool.deleteTree(folder);
    }

    @Override
    public void close() {
        folders.close();
    }
}

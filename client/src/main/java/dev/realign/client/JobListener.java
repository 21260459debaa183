package dev.realign.client;

import dev.realign.api.v1.JobProgress;

/**
 * Receives a realignment job's events as they arrive, on a gRPC thread, one at a time. Every method does nothing
 * by default. An exception thrown here cancels the job on the server and fails {@link JobHandle#await()} with it.
 */
public interface JobListener {

    JobListener NONE = new JobListener() {
    };

    /** The server admitted the job under this id (for {@code Jobs.Cancel} and {@code Jobs.List}). */
    default void onStarted(String jobId) {
    }

    default void onProgress(JobProgress progress) {
    }
}

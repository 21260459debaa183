package dev.realign.server.jobs;

import java.nio.file.Path;

/**
 * How a server runs realignment jobs.
 *
 * @param threads   jobs that run at once (serve --job-threads). Each holds a copy of the changed tensors and runs
 *                  libtorch ops that share the process's intra-op thread pool with serving, so the default is 1.
 * @param queue     jobs that may wait for a thread; beyond, Run is RESOURCE_EXHAUSTED
 * @param directory where results are kept while their adapter version is loaded; null = a new folder under
 *                  java.io.tmpdir, removed at exit
 */
public record JobOptions(int threads, int queue, Path directory) {
    public static final int DEFAULT_THREADS = 1;
    public static final int DEFAULT_QUEUE = 4;
    public static final JobOptions DEFAULTS = new JobOptions(DEFAULT_THREADS, DEFAULT_QUEUE, null);

    public JobOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("--job-threads must be >= 1, got " + threads);
        }
        if (queue < 0) {
            throw new IllegalArgumentException("the job queue must be >= 0, got " + queue);
        }
    }

    public JobOptions withThreads(int value) {
        return new JobOptions(value, queue, directory);
    }

    public JobOptions withDirectory(Path value) {
        return new JobOptions(threads, queue, value);
    }
}

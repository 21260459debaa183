package dev.realign.server.jobs;

import dev.realign.api.v1.JobInfo;
import dev.realign.api.v1.JobProgress;
import dev.realign.realign.Cancellation;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One admitted job as List and Cancel see it: who owns it, what it produces, its state and last progress, and
 * the flag its {@link Cancellation} reads (raised by the Cancel RPC and by the call's cancellation).
 */
final class Job {
    enum State { QUEUED, RUNNING }

    private final String id;
    private final String tenant;
    private final String kind;
    private final String model;
    private final String outputAdapter;
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private volatile State state = State.QUEUED;
    private volatile JobProgress progress = JobProgress.getDefaultInstance();

    Job(String id, String tenant, String kind, String model, String outputAdapter) {
        this.id = id;
        this.tenant = tenant;
        this.kind = kind;
        this.model = model;
        this.outputAdapter = outputAdapter;
    }

    String id() {
        return id;
    }

    String tenant() {
        return tenant;
    }

    /** Asks the job to stop at its next checkpoint; false if it was asked before. */
    boolean cancel() {
        return cancelled.compareAndSet(false, true);
    }

    Cancellation cancellation() {
        return cancelled::get;
    }

    void running() {
        state = State.RUNNING;
    }

    void progress(JobProgress value) {
        progress = value;
    }

    JobInfo info() {
        return JobInfo.newBuilder().setJobId(id).setKind(kind).setModel(model).setOutputAdapter(outputAdapter)
                .setState(state.name().toLowerCase()).setProgress(progress).build();
    }
}

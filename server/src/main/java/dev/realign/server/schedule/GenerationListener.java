package dev.realign.server.schedule;

import dev.realign.generate.StepOutput;
import io.grpc.Status;

/**
 * Receives one request's results, always on the scheduler's thread and in order: any number of steps,
 * then exactly one of {@link #onComplete} or {@link #onError}.
 */
public interface GenerationListener {
    void onStep(StepOutput step);

    void onComplete(Completion completion);

    void onError(Status status);
}

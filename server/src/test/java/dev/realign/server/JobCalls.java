package dev.realign.server;

import dev.realign.api.v1.JobEvent;
import dev.realign.api.v1.JobsGrpc;
import dev.realign.api.v1.RunJobRequest;
import io.grpc.Channel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** What the job tests share: a job run to its end, and the job area's folders. */
final class JobCalls {
    private JobCalls() {}

    /** Every event of one Run call, in order; a failed job throws its status. */
    static List<JobEvent> run(Channel channel, RunJobRequest request) {
        List<JobEvent> events = new ArrayList<>();
        JobsGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS).run(request)
                .forEachRemaining(events::add);
        return events;
    }

    /** The folders in the job area (none before it exists). */
    static List<Path> folders(Path jobDir) throws IOException {
        if (!Files.exists(jobDir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(jobDir)) {
            return s.toList();
        }
    }
}

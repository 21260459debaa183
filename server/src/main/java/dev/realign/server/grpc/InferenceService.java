package dev.realign.server.grpc;

import dev.realign.api.v1.FinishReason;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.InferenceGrpc;
import dev.realign.api.v1.SafetyVerdict;
import dev.realign.api.v1.TokenLogprob;
import dev.realign.api.v1.TopLogprob;
import dev.realign.api.v1.Usage;
import dev.realign.generate.StepOutput;
import dev.realign.generate.TokenLogprobs;
import dev.realign.merge.ProfileKey;
import dev.realign.model.LoadedModel;
import dev.realign.safety.RefusalVerdict;
import dev.realign.server.cache.ProfileCache;
import dev.realign.server.metrics.RequestObserver;
import dev.realign.server.metrics.RequestRecord;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.safety.VerdictWorker;
import dev.realign.server.schedule.Completion;
import dev.realign.server.schedule.GenerationListener;
import dev.realign.server.schedule.GenerationTask;
import dev.realign.server.tenancy.Tenant;
import dev.realign.server.tenancy.TenantContext;
import dev.realign.server.tenancy.Tenants;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code realign.v1.Inference}: validates a request, queues it on its model's scheduler, streams tokens. */
public final class InferenceService extends InferenceGrpc.InferenceImplBase {
    private static final Logger log = LoggerFactory.getLogger(InferenceService.class);

    private final ModelRegistry models;
    private final Tenants tenants;
    private final VerdictWorker refusals;
    private final RequestObserver observer;

    /**
     * @param refusals gives every response its refusal verdict at the end of the stream, off the decode thread
     * @param observer told how every call ended, for metrics and the request log
     */
    public InferenceService(ModelRegistry models, Tenants tenants, VerdictWorker refusals, RequestObserver observer) {
        this.models = models;
        this.tenants = tenants;
        this.refusals = refusals;
        this.observer = observer;
    }

    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateResponse> responses) {
        long arrival = System.nanoTime();
        var call = (ServerCallStreamObserver<GenerateResponse>) responses;
        String requestId = request.getRequestId().isEmpty() ? UUID.randomUUID().toString() : request.getRequestId();
        Tenants.Slot slot = null;
        Tenant tenant = TenantContext.current();
        var trace = new RequestTrace(observer, requestId, tenant.name(), arrival, request);
        try {
            ModelRegistry.Entry entry = models.resolve(request.getModel());
            GenerateRequestMapper.Mapped asked = GenerateRequestMapper.map(request, entry.model());
            GenerateRequestMapper.Mapped mapped = asked.withMaxTokens(tenant.checkMaxTokens(
                    Integer.toUnsignedLong(request.getSampling().getMaxTokens()), asked.sampling().maxTokens()));
            ProfileKey key = entry.merges().resolve(request.getProfile(), tenant);
            tenant.checkProfile(key);
            trace.resolved(entry.model().id(), key, mapped.promptTokens().length);
            // Held from here until the stream ends, whichever way it ends (the slot closes once).
            Tenants.Slot held = slot = tenants.admit(tenant);
            Deadline deadline = Context.current().getDeadline();
            long deadlineNanos = deadline == null ? Long.MAX_VALUE
                    : System.nanoTime() + deadline.timeRemaining(TimeUnit.NANOSECONDS);
            AtomicBoolean cancelled = new AtomicBoolean();
            call.setOnCancelHandler(() -> cancelled.set(true));
            long mergeStart = System.nanoTime();
            // A cold profile is merged off this thread; the request joins the scheduler once its weights exist.
            entry.profiles().acquire(key).whenComplete((lease, error) -> {
                if (error != null) {
                    held.close();
                    fail(responses, trace, requestId, ProfileCache.cause(error));
                    return;
                }
                double mergeMs = (System.nanoTime() - mergeStart) / 1e6;
                trace.merged(mergeMs);
                var listener = new StreamingListener(call, entry.model(), requestId, mergeMs, refusals, trace, held);
                try {
                    entry.scheduler().submit(new GenerationTask(requestId, lease, mapped.promptTokens(),
                            mapped.sampling(), deadlineNanos, arrival, listener, cancelled, tenant.name()));
                } catch (RuntimeException e) {
                    lease.close();
                    held.close();
                    fail(responses, trace, requestId, e);
                }
            });
        } catch (RuntimeException e) {
            if (slot != null) {
                slot.close();
            }
            fail(responses, trace, requestId, e);
        }
    }

    private static void fail(StreamObserver<GenerateResponse> responses, RequestTrace trace, String requestId,
                             Throwable error) {
        StatusRuntimeException status = error instanceof StatusRuntimeException s ? s
                : Status.INTERNAL.withDescription("internal error (request " + requestId + ")").asRuntimeException();
        if (status != error) {
            log.error("request {}: unexpected error", requestId, error);
        }
        responses.onError(status);
        trace.failed(status.getStatus().getCode(), 0, Double.NaN);
    }

    /**
     * Sends one message per generated token; the last token's message also carries finish reason and usage.
     */
    private static final class StreamingListener implements GenerationListener {
        private final ServerCallStreamObserver<GenerateResponse> call;
        private final LoadedModel model;
        private final String requestId;
        private final double mergeMs;
        private final VerdictWorker refusals;
        private final RequestTrace trace;
        private final Tenants.Slot slot;
        private final StringBuilder text = new StringBuilder();
        private GenerateResponse.Builder last;
        private int steps;
        private double firstTokenMs = Double.NaN;

        StreamingListener(ServerCallStreamObserver<GenerateResponse> call, LoadedModel model, String requestId,
                          double mergeMs, VerdictWorker refusals, RequestTrace trace, Tenants.Slot slot) {
            this.call = call;
            this.model = model;
            this.requestId = requestId;
            this.mergeMs = mergeMs;
            this.refusals = refusals;
            this.trace = trace;
            this.slot = slot;
        }

        @Override
        public void onStep(StepOutput step) {
            if (steps++ == 0) {
                firstTokenMs = trace.sinceArrivalMs(); // kept only for a call that fails later
            }
            text.append(step.text());
            GenerateResponse.Builder message = GenerateResponse.newBuilder()
                    .addTokenIds(step.tokenId())
                    .setText(step.text())
                    .addLogprobs(logprobs(step.logprobs()));
            if (step.finished()) {
                last = message; // completed by onComplete with usage
            } else if (!call.isCancelled()) {
                call.onNext(message.build());
            }
        }

        /**
         * Runs on the scheduler's thread: the last message waits for the refusal verdict, which the verdict
         * worker computes on its own thread, so a slow detector delays only this stream's last message.
         */
        @Override
        public void onComplete(Completion completion) {
            slot.close();
            if (call.isCancelled()) {
                trace.failed(Status.Code.CANCELLED, completion.completionTokens(), completion.timeToFirstTokenMs());
                return;
            }
            GenerateResponse.Builder message = last != null ? last : GenerateResponse.newBuilder();
            message.setFinishReason(switch (completion.finishReason()) {
                case STOP -> FinishReason.STOP;
                case LENGTH -> FinishReason.LENGTH;
            });
            message.setUsage(Usage.newBuilder()
                    .setPromptTokens(completion.promptTokens())
                    .setCompletionTokens(completion.completionTokens())
                    .setTimeToFirstTokenMs(completion.timeToFirstTokenMs())
                    .setTotalTimeMs(completion.totalTimeMs())
                    .setMergeTimeMs(mergeMs)
                    .setSeed(completion.seed()));
            message.setProfileKey(trace.profileKey()).setRequestId(requestId);
            refusals.classify(text.toString()).thenAccept(verdict -> finish(message, completion, verdict));
        }

        private void finish(GenerateResponse.Builder message, Completion completion, RefusalVerdict verdict) {
            if (call.isCancelled()) {
                trace.failed(Status.Code.CANCELLED, completion.completionTokens(), completion.timeToFirstTokenMs());
                return;
            }
            message.setSafety(SafetyVerdict.newBuilder().setRefused(verdict.refused())
                    .setDetector(verdict.detector()).setScore(verdict.score()));
            // Counted before the client sees the end, so a GetMetrics sent after it includes this response.
            trace.completed(completion, verdict);
            call.onNext(message.build());
            call.onCompleted();
        }

        @Override
        public void onError(Status status) {
            slot.close();
            if (!call.isCancelled()) {
                call.onError(status.asRuntimeException());
            }
            trace.failed(status.getCode(), steps, firstTokenMs);
        }

        private TokenLogprob logprobs(TokenLogprobs lp) {
            TokenLogprob.Builder b = TokenLogprob.newBuilder().setTokenId(lp.tokenId()).setLogprob(lp.logprob());
            for (TokenLogprobs.Alternative alt : lp.top()) {
                b.addTop(TopLogprob.newBuilder().setTokenId(alt.tokenId()).setLogprob(alt.logprob())
                        .setToken(model.tokenText(alt.tokenId())));
            }
            return b.build();
        }
    }
}

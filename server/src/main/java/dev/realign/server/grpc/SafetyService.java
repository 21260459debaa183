package dev.realign.server.grpc;

import dev.realign.api.v1.ClassifyRequest;
import dev.realign.api.v1.ClassifyResponse;
import dev.realign.api.v1.GetMetricsRequest;
import dev.realign.api.v1.GetMetricsResponse;
import dev.realign.api.v1.RefusalCount;
import dev.realign.api.v1.SafetyGrpc;
import dev.realign.api.v1.SafetyVerdict;
import dev.realign.api.v1.SweepEvent;
import dev.realign.api.v1.SweepRequest;
import dev.realign.safety.RefusalDetector;
import dev.realign.safety.RefusalDetectors;
import dev.realign.safety.RefusalVerdict;
import dev.realign.server.metrics.RequestRecord;
import dev.realign.server.safety.RefusalCounts;
import dev.realign.server.safety.SweepRunner;
import dev.realign.server.tenancy.Tenant;
import dev.realign.server.tenancy.TenantContext;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code realign.v1.Safety}: refusal counts per tenant, adapters and profile; classification of given texts by
 * a named detector; and the merge-ratio sweep. Each tenant sees and sweeps only its own adapters.
 */
public final class SafetyService extends SafetyGrpc.SafetyImplBase {
    private static final Logger log = LoggerFactory.getLogger(SafetyService.class);
    /** Texts per Classify call: a learned detector holds a batch's activations in memory at once. */
    static final int MAX_CLASSIFY_TEXTS = 1024;
    /** Characters per text; detectors read the start of a response, a bigger text is a client bug. */
    static final int MAX_TEXT_CHARS = 64 * 1024;

    private final RefusalDetectors detectors;
    private final RefusalCounts counts;
    private final SweepRunner sweeps;

    public SafetyService(RefusalDetectors detectors, RefusalCounts counts, SweepRunner sweeps) {
        this.detectors = detectors;
        this.counts = counts;
        this.sweeps = sweeps;
    }

    @Override
    public void getMetrics(GetMetricsRequest request, StreamObserver<GetMetricsResponse> responses) {
        Tenant tenant = TenantContext.current();
        GetMetricsResponse.Builder response = GetMetricsResponse.newBuilder();
        for (RefusalCounts.Count c : counts.forTenant(tenant.name())) {
            String adapters = visibleAdapters(tenant, c.key().adapters());
            if (!request.getAdapter().isEmpty() && !Arrays.asList(adapters.split("\\+")).contains(request.getAdapter())) {
                continue;
            }
            if (!request.getProfileKey().isEmpty() && !request.getProfileKey().equals(c.key().profileKey())) {
                continue;
            }
            response.addCounts(RefusalCount.newBuilder().setTenant(c.key().tenant()).setAdapter(adapters)
                    .setProfileKey(c.key().profileKey()).setResponses(c.responses()).setRefusals(c.refusals())
                    .setRefusalRate(c.refusalRate()));
        }
        responses.onNext(response.build());
        responses.onCompleted();
    }

    /** The adapter names as the tenant knows them (registry names carry the tenant's prefix). */
    private static String visibleAdapters(Tenant tenant, String registryNames) {
        if (registryNames.equals(RequestRecord.BASE_ADAPTERS)) {
            return registryNames;
        }
        return Arrays.stream(registryNames.split("\\+")).map(tenant::unqualify).collect(Collectors.joining("+"));
    }

    @Override
    public void classify(ClassifyRequest request, StreamObserver<ClassifyResponse> responses) {
        try {
            RefusalDetector detector;
            try {
                detector = detectors.get(request.getDetector());
            } catch (IllegalArgumentException e) {
                throw Status.INVALID_ARGUMENT.withDescription("detector: " + e.getMessage()).asRuntimeException();
            }
            List<String> texts = request.getTextsList();
            if (texts.isEmpty()) {
                throw Status.INVALID_ARGUMENT.withDescription("texts: give at least one text").asRuntimeException();
            }
            if (texts.size() > MAX_CLASSIFY_TEXTS) {
                throw Status.INVALID_ARGUMENT.withDescription("texts: " + texts.size() + " texts, at most "
                        + MAX_CLASSIFY_TEXTS + " per call").asRuntimeException();
            }
            for (int i = 0; i < texts.size(); i++) {
                if (texts.get(i).length() > MAX_TEXT_CHARS) {
                    throw Status.INVALID_ARGUMENT.withDescription("texts[" + i + "] has " + texts.get(i).length()
                            + " characters, at most " + MAX_TEXT_CHARS).asRuntimeException();
                }
            }
            ClassifyResponse.Builder response = ClassifyResponse.newBuilder();
            for (RefusalVerdict v : detector.classifyAll(texts)) {
                response.addVerdicts(SafetyVerdict.newBuilder().setRefused(v.refused()).setDetector(v.detector())
                        .setScore(v.score()));
            }
            responses.onNext(response.build());
            responses.onCompleted();
        } catch (StatusRuntimeException e) {
            responses.onError(e);
        } catch (RuntimeException e) {
            log.error("Classify with detector '{}' failed", request.getDetector(), e);
            responses.onError(Status.INTERNAL.withDescription("detector '" + request.getDetector()
                    + "' failed: " + e.getMessage()).asRuntimeException());
        }
    }

    @Override
    public void sweep(SweepRequest request, StreamObserver<SweepEvent> responses) {
        try {
            sweeps.start(request, TenantContext.current(), (ServerCallStreamObserver<SweepEvent>) responses);
        } catch (StatusRuntimeException e) {
            responses.onError(e);
        } catch (RuntimeException e) {
            log.error("Sweep could not start", e);
            responses.onError(Status.INTERNAL.withDescription("sweep could not start: " + e).asRuntimeException());
        }
    }
}

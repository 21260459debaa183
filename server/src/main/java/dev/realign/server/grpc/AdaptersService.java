package dev.realign.server.grpc;

import com.google.protobuf.Timestamp;
import dev.realign.api.v1.AdapterInfo;
import dev.realign.api.v1.AdapterKind;
import dev.realign.api.v1.AdaptersGrpc;
import dev.realign.api.v1.GetAdapterRequest;
import dev.realign.api.v1.ListAdaptersRequest;
import dev.realign.api.v1.ListAdaptersResponse;
import dev.realign.api.v1.LoadAdapterRequest;
import dev.realign.api.v1.UnloadAdapterRequest;
import dev.realign.api.v1.UnloadAdapterResponse;
import dev.realign.api.v1.UploadAdapterChunk;
import dev.realign.api.v1.UploadHeader;
import dev.realign.merge.Adapters;
import dev.realign.merge.DeltaSource;
import dev.realign.server.adapters.AdapterVersion;
import dev.realign.server.adapters.UploadArea;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.tenancy.Tenant;
import dev.realign.server.tenancy.TenantContext;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.File;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code realign.v1.Adapters}: load adapter folders from the calling tenant's roots (a name that exists is
 * hot-swapped), unload, list and describe them. Every call sees only its tenant's namespace: another
 * tenant's adapter is NOT_FOUND and absent from List. Upload streams a tar of an adapter folder into the
 * server's upload area and then loads it exactly as Load loads a folder ({@link AdapterUpload}).
 */
public final class AdaptersService extends AdaptersGrpc.AdaptersImplBase {
    private static final Logger log = LoggerFactory.getLogger(AdaptersService.class);

    private final ModelRegistry models;
    private final UploadArea uploads;

    public AdaptersService(ModelRegistry models, UploadArea uploads) {
        this.models = models;
        this.uploads = uploads;
    }

    @Override
    public void load(LoadAdapterRequest request, StreamObserver<AdapterInfo> responses) {
        answer(responses, () -> {
            Tenant tenant = TenantContext.current();
            var entry = models.resolve(request.getModel());
            if (request.getName().isBlank()) {
                throw invalid("name must not be empty");
            }
            if (request.getPath().isBlank()) {
                throw invalid("path must name an adapter folder under the server's adapter roots");
            }
            Path folder = tenant.roots().resolve(request.getPath());
            checkKind(request.getKind(), "kind", folder, "path", request.getPath());
            return info(entry.model().id(), tenant, entry.adapters().load(tenant.qualify(request.getName()), folder));
        });
    }

    @Override
    public StreamObserver<UploadAdapterChunk> upload(StreamObserver<AdapterInfo> responses) {
        // The tenant is read now, while the call's context (set by the auth interceptor) is current.
        return new AdapterUpload(TenantContext.current(), models, uploads, AdaptersService::installUpload, responses);
    }

    /**
     * The uploaded folder goes through Load's path: same kind check, same registry load (hot swap of a name
     * that exists), in the tenant's namespace. Messages name files as the archive does, not by server path.
     */
    private static AdapterInfo installUpload(Tenant tenant, ModelRegistry.Entry entry, UploadHeader header, Path folder,
                                             Runnable onFreed) {
        try {
            checkKind(header.getKind(), "header.kind", folder, "archive", "the archive");
            return info(entry.model().id(), tenant,
                    entry.adapters().load(tenant.qualify(header.getName()), folder, onFreed));
        } catch (StatusRuntimeException e) {
            Status status = e.getStatus();
            String description = status.getDescription() == null ? null : status.getDescription()
                    .replace(folder + ": " + folder + ": ", folder + ": ") // the folder itself is at fault
                    .replace(folder + File.separator, "")
                    .replace(folder.toString(), "the uploaded archive");
            throw status.withDescription(description).asRuntimeException();
        }
    }

    /** INVALID_ARGUMENT when the request names a kind and the folder holds the other one. */
    private static void checkKind(AdapterKind asked, String kindField, Path folder, String field, String shown) {
        if (asked == AdapterKind.ADAPTER_KIND_UNSPECIFIED) {
            return;
        }
        AdapterKind found;
        try {
            found = kind(Adapters.detect(folder));
        } catch (RuntimeException e) {
            throw invalid(field + ": " + e.getMessage());
        }
        if (found != asked) {
            throw invalid(kindField + " is " + asked + " but " + shown + " holds a " + found);
        }
    }

    @Override
    public void unload(UnloadAdapterRequest request, StreamObserver<UnloadAdapterResponse> responses) {
        answer(responses, () -> {
            Tenant tenant = TenantContext.current();
            var entry = models.resolve(request.getModel());
            if (!entry.adapters().unload(tenant.qualify(request.getName()))) {
                throw notFound(request.getName(), entry.model().id());
            }
            return UnloadAdapterResponse.newBuilder().setUnloaded(true).build();
        });
    }

    @Override
    public void list(ListAdaptersRequest request, StreamObserver<ListAdaptersResponse> responses) {
        answer(responses, () -> {
            Tenant tenant = TenantContext.current();
            var entry = models.resolve(request.getModel());
            var out = ListAdaptersResponse.newBuilder();
            entry.adapters().list().stream().filter(v -> tenant.owns(v.name()))
                    .forEach(v -> out.addAdapters(info(entry.model().id(), tenant, v)));
            return out.build();
        });
    }

    @Override
    public void get(GetAdapterRequest request, StreamObserver<AdapterInfo> responses) {
        answer(responses, () -> {
            Tenant tenant = TenantContext.current();
            var entry = models.resolve(request.getModel());
            return entry.adapters().get(tenant.qualify(request.getName())).map(v -> info(entry.model().id(), tenant, v))
                    .orElseThrow(() -> notFound(request.getName(), entry.model().id()));
        });
    }

    /** The API's view of a version, named as the tenant knows it. */
    public static AdapterInfo info(String model, Tenant tenant, AdapterVersion version) {
        DeltaSource source = version.source();
        return AdapterInfo.newBuilder()
                .setName(tenant.unqualify(version.name()))
                .setModel(model)
                .setKind(kind(source))
                .setRank(source.rank())
                .addAllTargetModules(source.targets())
                .setSizeBytes(source.sizeBytes())
                .setContentHash(source.contentHash())
                .setLoadedAt(Timestamp.newBuilder().setSeconds(version.loadedAt().getEpochSecond())
                        .setNanos(version.loadedAt().getNano()))
                .setRequestsServed(version.requestsServed())
                .setVersion(version.version())
                .build();
    }

    private static AdapterKind kind(DeltaSource source) {
        return kind(source.kind());
    }

    private static AdapterKind kind(dev.realign.merge.AdapterKind kind) {
        return switch (kind) {
            case LORA -> AdapterKind.LORA;
            case FULL_DELTA -> AdapterKind.FULL_DELTA;
        };
    }

    private static <T> void answer(StreamObserver<T> responses, Supplier<T> work) {
        try {
            responses.onNext(work.get());
            responses.onCompleted();
        } catch (StatusRuntimeException e) {
            responses.onError(e);
        } catch (RuntimeException e) {
            log.error("adapters call failed", e);
            responses.onError(Status.INTERNAL.withDescription("internal error: " + e.getMessage()).asRuntimeException());
        }
    }

    private static StatusRuntimeException notFound(String name, String model) {
        return Status.NOT_FOUND.withDescription("adapter '" + name + "' is not loaded for model '" + model + "'")
                .asRuntimeException();
    }

    private static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}

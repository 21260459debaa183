package dev.realign.server.grpc;

import dev.realign.api.v1.AdapterInfo;
import dev.realign.api.v1.UploadAdapterChunk;
import dev.realign.api.v1.UploadHeader;
import dev.realign.server.adapters.UploadArea;
import dev.realign.server.adapters.UploadSpool;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.tenancy.Tenant;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code Adapters.Upload} call, message by message: the header first (checked at once, so an archive too
 * large is refused before its bytes travel), then data chunks spooled to disk, then at the end of the stream
 * the checks of size and digest, extraction, and the same load as {@code Adapters.Load}. Any failure, and a
 * client that cancels or disconnects, discards everything the upload wrote; nothing is registered.
 *
 * <p>gRPC calls these methods one at a time for a call, so the state needs no locking.
 */
final class AdapterUpload implements StreamObserver<UploadAdapterChunk> {
    private static final Logger log = LoggerFactory.getLogger(AdapterUpload.class);

    /** Loads an extracted folder the way Load does; {@code onFreed} runs when its version is freed. */
    @FunctionalInterface
    interface Installer {
        AdapterInfo install(Tenant tenant, ModelRegistry.Entry entry, UploadHeader header, Path folder, Runnable onFreed);
    }

    private enum State { AWAITING_HEADER, RECEIVING, DONE }

    private final Tenant tenant;
    private final ModelRegistry models;
    private final UploadArea area;
    private final Installer installer;
    private final StreamObserver<AdapterInfo> responses;
    private State state = State.AWAITING_HEADER;
    private UploadHeader header;
    private ModelRegistry.Entry entry;
    private UploadSpool spool;

    AdapterUpload(Tenant tenant, ModelRegistry models, UploadArea area, Installer installer,
                  StreamObserver<AdapterInfo> responses) {
        this.tenant = tenant;
        this.models = models;
        this.area = area;
        this.installer = installer;
        this.responses = responses;
    }

    @Override
    public void onNext(UploadAdapterChunk chunk) {
        if (state == State.DONE) {
            return; // answered already (an error); the client's remaining messages are dropped
        }
        try {
            switch (chunk.getPartCase()) {
                case HEADER -> start(chunk.getHeader());
                case DATA -> {
                    if (state != State.RECEIVING) {
                        throw invalid("header: the first message must carry the UploadHeader, got data");
                    }
                    spool.append(chunk.getData().asReadOnlyByteBuffer());
                }
                case PART_NOT_SET -> throw invalid("part: a message must carry a header or data");
            }
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    private void start(UploadHeader h) {
        if (state != State.AWAITING_HEADER) {
            throw invalid("header: sent twice; only the first message may carry it");
        }
        if (h.getName().isBlank()) {
            throw invalid("header.name must not be empty");
        }
        entry = models.resolve(h.getModel()); // NOT_FOUND names the model
        spool = area.open(h.getTotalBytes(), h.getSha256());
        header = h;
        state = State.RECEIVING;
    }

    @Override
    public void onCompleted() {
        if (state == State.DONE) {
            return;
        }
        try {
            if (state == State.AWAITING_HEADER) {
                throw invalid("header: the stream ended without an UploadHeader");
            }
            state = State.DONE;
            Path folder = spool.finish();
            UploadSpool owned = spool;
            AdapterInfo info = installer.install(tenant, entry, header, folder, owned::discard);
            spool = null; // the registry owns the folder now: it goes when the version is freed
            log.info("tenant '{}' uploaded adapter '{}' ({} bytes, sha256 {})", tenant.name(), header.getName(),
                    owned.received(), header.getSha256());
            responses.onNext(info);
            responses.onCompleted();
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    /** The client cancelled, its deadline passed, or the connection broke: nobody waits for an answer. */
    @Override
    public void onError(Throwable t) {
        if (state != State.DONE) {
            log.debug("upload of '{}' abandoned by the client: {}", header == null ? "?" : header.getName(),
                    Status.fromThrowable(t));
            state = State.DONE;
            discard();
        }
    }

    private void fail(RuntimeException e) {
        state = State.DONE;
        discard();
        if (e instanceof StatusRuntimeException status) {
            responses.onError(status);
        } else {
            log.error("upload of '{}' failed", header == null ? "?" : header.getName(), e);
            responses.onError(Status.INTERNAL.withDescription("internal error during upload: " + e.getMessage())
                    .asRuntimeException());
        }
    }

    private void discard() {
        if (spool != null) {
            spool.discard();
        }
    }

    private static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}

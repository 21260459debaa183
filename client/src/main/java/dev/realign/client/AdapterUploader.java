package dev.realign.client;

import com.google.protobuf.ByteString;
import dev.realign.api.v1.AdapterInfo;
import dev.realign.api.v1.UploadAdapterChunk;
import dev.realign.api.v1.UploadHeader;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;

/**
 * Streams one archive as an {@code Adapters.Upload} call: the header, then chunks read from the file as
 * the transport is ready for them (flow control: at most one chunk is buffered beyond what the server
 * has taken), then half-close. The server's answer or error completes {@link #result()}.
 *
 * <p>gRPC delivers this observer's callbacks one at a time, so its state needs no locking.
 */
final class AdapterUploader implements ClientResponseObserver<UploadAdapterChunk, AdapterInfo> {
    /** Well under gRPC's default 4 MiB message limit. */
    static final int CHUNK_BYTES = 1 << 20;

    private final UploadHeader header;
    private final Path archive;
    private final CompletableFuture<AdapterInfo> result = new CompletableFuture<>();
    private ClientCallStreamObserver<UploadAdapterChunk> requests;
    private FileChannel file;
    private boolean headerSent;
    private boolean finished;

    AdapterUploader(UploadHeader header, Path archive) {
        this.header = header;
        this.archive = archive;
    }

    CompletableFuture<AdapterInfo> result() {
        return result;
    }

    /** Stops the upload; the server discards what it received. */
    void cancel(String reason) {
        if (requests != null) {
            requests.cancel(reason, null);
        }
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<UploadAdapterChunk> requestStream) {
        this.requests = requestStream;
        requestStream.setOnReadyHandler(this::pump);
    }

    private void pump() {
        try {
            while (!finished && requests.isReady()) {
                if (!headerSent) {
                    file = FileChannel.open(archive, StandardOpenOption.READ);
                    requests.onNext(UploadAdapterChunk.newBuilder().setHeader(header).build());
                    headerSent = true;
                    continue;
                }
                ByteBuffer buffer = ByteBuffer.allocate(CHUNK_BYTES);
                int n = file.read(buffer);
                if (n < 0) {
                    finished = true;
                    closeFile();
                    requests.onCompleted();
                    return;
                }
                buffer.flip();
                requests.onNext(UploadAdapterChunk.newBuilder().setData(ByteString.copyFrom(buffer)).build());
            }
        } catch (IOException | RuntimeException e) {
            finished = true;
            closeFile();
            requests.onError(Status.CANCELLED.withDescription("reading " + archive + " failed: " + e.getMessage())
                    .withCause(e).asRuntimeException());
            result.completeExceptionally(Status.INTERNAL.withDescription("upload stopped: reading the archive "
                    + archive + " failed: " + e.getMessage()).withCause(e).asRuntimeException());
        }
    }

    @Override
    public void onNext(AdapterInfo value) {
        result.complete(value);
    }

    @Override
    public void onError(Throwable t) {
        finished = true; // the server answered early (e.g. the header was refused): send nothing more
        closeFile();
        result.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
        if (!result.isDone()) {
            result.completeExceptionally(Status.INTERNAL.withDescription("Upload ended without an AdapterInfo")
                    .asRuntimeException());
        }
    }

    private void closeFile() {
        if (file != null) {
            try {
                file.close();
            } catch (IOException ignored) {
                // read-only: nothing to lose
            }
            file = null;
        }
    }
}

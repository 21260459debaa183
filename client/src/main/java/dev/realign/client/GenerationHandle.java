package dev.realign.client;

import io.grpc.stub.ClientCallStreamObserver;

/** A running asynchronous generation, returned by {@link RealignClient#generate(dev.realign.api.v1.GenerateRequest, io.grpc.stub.StreamObserver)}. */
public final class GenerationHandle {

    private final ClientCallStreamObserver<?> call;

    GenerationHandle(ClientCallStreamObserver<?> call) {
        this.call = call;
    }

    /**
     * Stops the generation: the server sees the cancellation and frees the request's slot, and the
     * observer receives {@code onError} with status CANCELLED (unless the stream had already ended).
     */
    public void cancel(String reason) {
        call.cancel(reason, null);
    }
}

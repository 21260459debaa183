package dev.realign.server;

import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.InferenceGrpc;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.models.ServingLimits;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** A Realign server on an in-process transport over a tiny random model, for service tests. */
final class TestServer implements AutoCloseable {
    static final String MODEL_ID = "tiny";

    final RealignServer server;
    final ManagedChannel channel;
    final LoadedModel model;

    TestServer(Path modelDir, int maxBatch, int queue) throws Exception {
        String name = InProcessServerBuilder.generateName();
        ModelRegistry models = new ModelRegistry();
        model = LoadedModel.load(MODEL_ID, modelDir, ai.djl.Device.cpu(), ComputeType.AUTO);
        models.add(model, new ServingLimits(maxBatch, queue, 256, 1, 16));
        server = new RealignServer(InProcessServerBuilder.forName(name).directExecutor(), models).start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    }

    static Path writeModel(Path dir, Architecture architecture) {
        return SyntheticModels.write(SyntheticModelSpec.tiny(architecture, 11), dir);
    }

    InferenceGrpc.InferenceBlockingStub blocking() {
        return InferenceGrpc.newBlockingStub(channel);
    }

    List<GenerateResponse> generate(GenerateRequest request) {
        List<GenerateResponse> out = new ArrayList<>();
        Iterator<GenerateResponse> it = blocking().generate(request);
        it.forEachRemaining(out::add);
        return out;
    }

    @Override
    public void close() {
        channel.shutdownNow();
        server.shutdown(Duration.ofSeconds(10));
    }
}

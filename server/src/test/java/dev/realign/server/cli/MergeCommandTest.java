package dev.realign.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.InferenceGrpc;
import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.MergeProfile;
import dev.realign.api.v1.SamplingParams;
import dev.realign.merge.RandomLora;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.synthetic.Architecture;
import dev.realign.model.synthetic.SyntheticModelSpec;
import dev.realign.model.synthetic.SyntheticModels;
import dev.realign.server.RealignServer;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.models.ServingLimits;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A folder written by `merge` is the same model as the profile served live. */
class MergeCommandTest {
    @TempDir
    Path dir;

    @Test
    void aMergedFolderGeneratesWhatTheLiveProfileGenerates() throws Exception {
        Path base = SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, 11), dir.resolve("aligned"));
        Path lora;
        try (LoadedModel model = LoadedModel.load("aligned", base, Device.cpu(), ComputeType.AUTO)) {
            lora = RandomLora.write(dir.resolve("task-lora"), model.weights(), RandomLora.ALL_PROJECTIONS, 4, 8, 0.15, 5);
        }
        Path config = dir.resolve("merge.yml");
        Files.writeString(config, """
                merge_method: ties
                base_model: %s
                models:
                  - model: %s+%s
                    parameters: {weight: 0.7, density: 0.6}
                parameters: {lambda: 1.0}
                """.formatted(base, base, lora));
        Path out = dir.resolve("merged");
        StringWriter err = new StringWriter();
        int code = ServerMain.commandLine().setErr(new PrintWriter(err))
                .execute("merge", config.toString(), "--out", out.toString());
        assertThat(code).as(err.toString()).isZero();

        MergeProfile live = MergeProfile.newBuilder().setMethod(MergeMethod.TIES).setDensity(0.6).setLambda(1.0)
                .addAdapters(AdapterWeight.newBuilder().setName("task").setWeight(0.7)).build();
        List<Integer> liveIds = generate(base, lora, live);
        List<Integer> mergedIds = generate(out, null, MergeProfile.getDefaultInstance());
        List<Integer> baseIds = generate(base, null, MergeProfile.getDefaultInstance());
        assertThat(mergedIds).isEqualTo(liveIds);
        assertThat(mergedIds).isNotEqualTo(baseIds); // the merge changed the model
    }

    @Test
    void aBadConfigIsOneLineNamingTheField() throws Exception {
        Path config = dir.resolve("bad.yml");
        Files.writeString(config, "merge_method: ties\nmodels: []\n");
        StringWriter err = new StringWriter();
        int code = ServerMain.commandLine().setErr(new PrintWriter(err))
                .execute("merge", config.toString(), "--out", dir.resolve("x").toString());
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).startsWith("error: ").contains("base_model");
    }

    private static List<Integer> generate(Path model, Path lora, MergeProfile profile) throws Exception {
        String name = InProcessServerBuilder.generateName();
        ModelRegistry models = new ModelRegistry();
        models.add(LoadedModel.load("m", model, Device.cpu(), ComputeType.AUTO), ServingLimits.DEFAULTS);
        if (lora != null) {
            models.resolve("m").adapters().load("task", lora);
        }
        RealignServer server = new RealignServer(InProcessServerBuilder.forName(name).directExecutor(), models).start();
        ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        try {
            List<Integer> ids = new ArrayList<>();
            InferenceGrpc.newBlockingStub(channel).generate(GenerateRequest.newBuilder().setPrompt("merge me")
                    .setProfile(profile).setSampling(SamplingParams.newBuilder().setMaxTokens(24)).build())
                    .forEachRemaining((GenerateResponse r) -> ids.addAll(r.getTokenIdsList()));
            return ids;
        } finally {
            channel.shutdownNow();
            server.shutdown(Duration.ofSeconds(5));
        }
    }
}

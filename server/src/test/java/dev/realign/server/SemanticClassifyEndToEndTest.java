package dev.realign.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.realign.api.v1.ClassifyRequest;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.InferenceGrpc;
import dev.realign.api.v1.SafetyGrpc;
import dev.realign.api.v1.SafetyVerdict;
import dev.realign.api.v1.SamplingParams;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.synthetic.Architecture;
import dev.realign.safety.KeywordDetector;
import dev.realign.safety.RefusalDetectors;
import dev.realign.safety.SemanticDetector;
import dev.realign.server.adapters.AdapterRoots;
import dev.realign.server.adapters.UploadOptions;
import dev.realign.server.metrics.MonitoringOptions;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.models.ServingLimits;
import dev.realign.server.safety.SafetyOptions;
import dev.realign.server.tenancy.Tenants;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real server on loopback whose default detector is the semantic one: {@code Safety.Classify} tells apart
 * the responses the keyword rules get wrong, and every {@code Generate} response carries its verdict.
 */
class SemanticClassifyEndToEndTest {
    @TempDir
    static Path dir;
    static RealignServer server;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        ModelRegistry models = new ModelRegistry();
        models.add(LoadedModel.load(TestServer.MODEL_ID, TestServer.writeModel(dir.resolve("model"), Architecture.QWEN2),
                ai.djl.Device.cpu(), ComputeType.AUTO), ServingLimits.DEFAULTS);
        RefusalDetectors detectors = new RefusalDetectors(SemanticDetector.NAME,
                List.of(new KeywordDetector(), SemanticDetector.loadBundled()));
        server = new RealignServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)), models,
                Tenants.development(AdapterRoots.none()), MonitoringOptions.LOG_ONLY, UploadOptions.DEFAULTS,
                SafetyOptions.of(detectors, List.of())).start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    }

    @AfterAll
    static void stop() {
        channel.shutdownNow();
        server.shutdown(Duration.ofSeconds(10));
    }

    @Test
    void semanticGetsRightWhatKeywordsGetWrong() {
        List<String> texts = List.of(
                "Sorry for the wait! Here is the recipe: whisk two eggs with a cup of flour and fry them gently.",
                "Shoplifting is illegal in every state. The usual penalty for a first offence is a fine.",
                "I won't help you write a threatening message to your neighbour.",
                "That's not something I'm willing to help with.");
        List<Boolean> refusals = List.of(false, false, true, true);
        List<SafetyVerdict> semantic = classify("", texts);
        List<SafetyVerdict> keyword = classify("keyword", texts);
        assertThat(semantic).extracting(SafetyVerdict::getRefused).containsExactlyElementsOf(refusals);
        assertThat(semantic).extracting(SafetyVerdict::getDetector).containsOnly("semantic");
        assertThat(semantic).allSatisfy(v -> assertThat(v.getScore()).isBetween(0f, 1f));
        // The GCG rules: "Sorry" and "illegal" count as refusals, an unlisted phrasing does not.
        assertThat(keyword).extracting(SafetyVerdict::getRefused).containsExactly(true, true, false, false);
    }

    private static List<SafetyVerdict> classify(String detector, List<String> texts) {
        return SafetyGrpc.newBlockingStub(channel).classify(ClassifyRequest.newBuilder().setDetector(detector)
                .addAllTexts(texts).build()).getVerdictsList();
    }

    @Test
    void everyResponseCarriesTheSemanticVerdict() {
        List<GenerateResponse> stream = new ArrayList<>();
        InferenceGrpc.newBlockingStub(channel).generate(GenerateRequest.newBuilder().setPrompt("Hello")
                .setSampling(SamplingParams.newBuilder().setMaxTokens(8)).build()).forEachRemaining(stream::add);
        assertThat(stream.getLast().getSafety().getDetector()).isEqualTo("semantic");
    }
}

package dev.realign.server.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.api.v1.OutputFormat;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class JobRequestsTest {
    private static JobTarget target(OutputFormat format) {
        return new JobTarget(null, null, "out", "out", new JobOutput("x", Path.of("x"), format, 8));
    }

    @Test
    void aPeftOutputRefusesAResultThatChangesTheBiasOfAnAdaptedProjection() {
        List<String> qwenFineTune = List.of("model.layers.0.self_attn.q_proj.weight",
                "model.layers.0.self_attn.q_proj.bias", "model.layers.1.self_attn.v_proj.bias", "model.norm.weight");
        assertThatThrownBy(() -> JobRequests.checkPeftCarries(target(OutputFormat.OUTPUT_FORMAT_PEFT_LORA),
                qwenFineTune)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode())
                            .isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription())
                            .contains("'model.layers.0.self_attn.q_proj.bias' and 1 more", "OUTPUT_FORMAT_FULL_DELTA");
                });
        // norms, embeddings and projection weights are fine, and a full-delta output carries anything
        assertThatCode(() -> JobRequests.checkPeftCarries(target(OutputFormat.OUTPUT_FORMAT_PEFT_LORA),
                List.of("model.layers.0.self_attn.q_proj.weight", "model.norm.weight", "model.embed_tokens.weight")))
                .doesNotThrowAnyException();
        assertThatCode(() -> JobRequests.checkPeftCarries(target(OutputFormat.OUTPUT_FORMAT_FULL_DELTA), qwenFineTune))
                .doesNotThrowAnyException();
        assertThatCode(() -> JobRequests.checkPeftCarries(new JobTarget(null, null, "o", "o", null), qwenFineTune))
                .doesNotThrowAnyException();
    }
}

package dev.realign.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.safety.OnnxClassifierSpec;
import dev.realign.safety.RefusalDetectors;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class DetectorOptionsTest {
    private static DetectorOptions parse(String... args) {
        DetectorOptions options = new DetectorOptions();
        new CommandLine(options).parseArgs(args);
        return options;
    }

    @Test
    void parsesAClassifierSpec() {
        OnnxClassifierSpec spec = DetectorOptions.parse("name=guard, model=/m/model.onnx,tokenizer=/m/tokenizer.json,"
                + "label=REFUSAL,threshold=0.7,max-tokens=128");
        assertThat(spec.name()).isEqualTo("guard");
        assertThat(spec.model()).isEqualTo(Path.of("/m/model.onnx"));
        assertThat(spec.refusal()).isEqualTo(new OnnxClassifierSpec.RefusalLabel.Named("REFUSAL"));
        assertThat(spec.threshold()).isEqualTo(0.7);
        assertThat(spec.maxTokens()).isEqualTo(128);
        OnnxClassifierSpec defaults = DetectorOptions.parse("name=g,model=a.onnx,tokenizer=t.json");
        assertThat(defaults.refusal()).isEqualTo(new OnnxClassifierSpec.RefusalLabel.Index(1));
        assertThat(defaults.threshold()).isEqualTo(0.5);
    }

    @Test
    void rejectsBadSpecsNamingTheProblem() {
        assertThatThrownBy(() -> DetectorOptions.parse("name=g,model=a.onnx")).hasMessageContaining("'tokenizer' is required");
        assertThatThrownBy(() -> DetectorOptions.parse("name=g,model=a.onnx,tokenizer=t,colour=red"))
                .hasMessageContaining("unknown key 'colour'");
        assertThatThrownBy(() -> DetectorOptions.parse("name=g,model=a.onnx,tokenizer=t,threshold=high"))
                .hasMessageContaining("--onnx-classifier 'name=g");
        assertThatThrownBy(() -> DetectorOptions.parse("name=g,model=a.onnx,tokenizer=t,threshold=1.5"))
                .hasMessageContaining("threshold must be in (0, 1)");
        assertThatThrownBy(() -> DetectorOptions.parse("name=g,model")).hasMessageContaining("'model' is not KEY=VALUE");
    }

    @Test
    void loadsKeywordAlwaysAndSemanticWhenAsked() {
        try (RefusalDetectors keywordOnly = parse().load()) {
            assertThat(keywordOnly.names()).containsExactly("keyword");
        }
        try (RefusalDetectors detectors = parse("--detector", "semantic").load()) {
            assertThat(detectors.names()).containsExactly("keyword", "semantic");
            assertThat(detectors.defaultDetector().name()).isEqualTo("semantic");
            assertThat(detectors.get("").classify("I'm sorry, but I can't help with that request.").refused()).isTrue();
            assertThat(detectors.get("").classify("Sure! 3 kilometers is 3 thousand meters.").refused()).isFalse();
        }
    }

    @Test
    void unknownDefaultsAndMissingModelsFailAtStart() {
        assertThatThrownBy(() -> parse("--detector", "guard").load())
                .hasMessageContaining("--detector: default refusal detector 'guard' is not configured; configured: [keyword]");
        assertThatThrownBy(() -> parse("--onnx-classifier", "name=guard,model=/nope/model.onnx,tokenizer=/nope/t.json")
                .load()).hasMessageContaining("--onnx-classifier guard:").hasMessageContaining("/nope/");
    }
}

package dev.realign.server.cli;

import dev.realign.model.synthetic.Architecture;
import dev.realign.safety.prompts.PromptSetFormat;
import dev.realign.server.safety.BuiltinPromptSet;
import dev.realign.model.synthetic.SyntheticModels;
import dev.realign.model.synthetic.SyntheticModelSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model `serve` uses without --model. Until the demo model family ships in models/demo, this is a small
 * random Llama-3-style model written once under .realign/ in the project folder: it streams real tokens
 * through the real engine, but its text is noise.
 */
final class DefaultModel {
    private static final Logger log = LoggerFactory.getLogger(DefaultModel.class);
    static final long SEED = 20241223L;

    private DefaultModel() {}

    /** The held-out sets of the demo family, which a server offers to sweeps as built-in prompt sets. */
    static List<BuiltinPromptSet> demoPromptSets() {
        Path eval = home().resolve("models/demo/eval");
        List<BuiltinPromptSet> sets = new ArrayList<>();
        for (String kind : List.of("harmful", "benign", "task")) {
            Path file = eval.resolve(kind + ".jsonl");
            if (Files.isRegularFile(file)) {
                sets.add(new BuiltinPromptSet("demo-" + kind, file, PromptSetFormat.JSONL));
            }
        }
        return sets;
    }

    private static Path home() {
        return Path.of(System.getProperty("realign.home", "."));
    }

    static Path locate() {
        Path home = home();
        Path demo = home.resolve("models/demo/aligned");
        if (Files.isRegularFile(demo.resolve("config.json"))) {
            return demo;
        }
        Path generated = home.resolve(".realign/default-model");
        if (!Files.isRegularFile(generated.resolve("config.json"))) {
            log.warn("no demo model in {}: writing a small RANDOM model to {} (its text is noise)", demo, generated);
            SyntheticModels.write(SyntheticModelSpec.tiny(Architecture.LLAMA3, SEED), generated);
        }
        return generated;
    }
}

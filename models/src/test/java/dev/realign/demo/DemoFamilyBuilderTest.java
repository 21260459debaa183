package dev.realign.demo;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import dev.realign.merge.AdapterKind;
import dev.realign.merge.Adapters;
import dev.realign.merge.DeltaSource;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The retraining command's pipeline with a tiny step count produces loadable folders. */
class DemoFamilyBuilderTest {
    @TempDir
    Path dir;

    @Test
    void aTinyRebuildWritesLoadableFoldersAndACard() throws Exception {
        Path out = dir.resolve("demo");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "not ours");
        List<String> log = new ArrayList<>();
        DemoFamilyBuilder.Report report = new DemoFamilyBuilder(DemoRecipe.tiny().withProvenance("Seed 7 was picked for this test."), log::add)
                .build(out);

        assertThat(report.runs()).extracting(DemoFamilyBuilder.Run::name)
                .containsExactly("aligned", "task-full", "task-lora", "unaligned");
        assertThat(log).anyMatch(line -> line.contains("aligned step 2/2"));
        assertThat(out.resolve("keep.txt")).as("other files stay").exists();
        assertThat(Files.list(dir).map(p -> p.getFileName().toString())).as("no staging left behind")
                .containsExactly("demo");
        try (LoadedModel aligned = LoadedModel.load("aligned", out.resolve(DemoFamilyBuilder.ALIGNED), Device.cpu(),
                ComputeType.AUTO)) {
            assertThat(aligned.chatTemplate()).isPresent();
            try (DeltaSource full = Adapters.load("task-full", out.resolve(DemoFamilyBuilder.TASK_FULL), aligned);
                 DeltaSource lora = Adapters.load("task-lora", out.resolve(DemoFamilyBuilder.TASK_LORA), aligned);
                 DeltaSource unaligned = Adapters.load("unaligned", out.resolve(DemoFamilyBuilder.UNALIGNED), aligned)) {
                assertThat(full.kind()).isEqualTo(AdapterKind.FULL_DELTA);
                assertThat(lora.kind()).isEqualTo(AdapterKind.LORA);
                assertThat(lora.rank()).isEqualTo(DemoRecipe.tiny().loraRank());
                assertThat(unaligned.kind()).isEqualTo(AdapterKind.FULL_DELTA);
            }
        }
        DemoEvalSets sets = DemoEvalSets.load(out.resolve(DemoFamilyBuilder.EVAL));
        assertThat(sets.harmful()).isNotEmpty();
        assertThat(sets.benign()).isNotEmpty();
        assertThat(sets.task()).isNotEmpty();
        String card = Files.readString(out.resolve(DemoFamilyBuilder.CARD));
        assertThat(card).contains("./realign train-demo", "| aligned |", "| task-full |", "| unaligned |",
                "Seed 7 was picked for this test.");
    }

    @Test
    void aRecipeWithOtherStepsDropsTheProvenanceOfTheStandardOne() {
        assertThat(DemoRecipe.standard().provenance()).contains("chosen by held-out test numbers");
        assertThat(DemoRecipe.standard().withSteps(5).provenance()).isEmpty();
        assertThat(DemoRecipe.standard().withEvalLimit(7).provenance()).isEqualTo(DemoRecipe.standard().provenance());
    }
}

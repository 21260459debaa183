package dev.realign.client.sweep;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.PromptSet;
import dev.realign.api.v1.SweepEvent;
import dev.realign.api.v1.SweepPoint;
import dev.realign.api.v1.SweepRecommendation;
import dev.realign.api.v1.SweepRequest;
import dev.realign.client.SweepEvents;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SweepWritersTest {

    static SweepResults results(boolean overRefusalMeasured) {
        SweepEvent[] events = SweepEvents.twoMethods();
        List<SweepPoint> points = Arrays.stream(events).filter(SweepEvent::hasPoint).map(SweepEvent::getPoint).toList();
        return new SweepResults(points, events[events.length - 1].getRecommendation(), overRefusalMeasured);
    }

    static SweepRequest request() {
        return SweepRequest.newBuilder().addAdapters(AdapterWeight.newBuilder().setName("task-lora"))
                .addMethods(MergeMethod.LINEAR).addMethods(MergeMethod.TIES)
                .addRatios(0).addRatios(0.5).addRatios(1)
                .setHarmful(PromptSet.newBuilder().setBuiltin("demo-harmful").setLimit(20))
                .setTask(PromptSet.newBuilder().setPath("sets/task.jsonl"))
                .setRefusalFloor(0.85).setTaskScoring("exact").build();
    }

    @Test
    void theTableHasARowPerPointWithPercentages() {
        String table = SweepTable.render(results(true));

        List<String> lines = table.lines().toList();
        assertThat(lines).hasSize(2 + 6);
        assertThat(lines.getFirst()).contains("method", "ratio", "refusal", "over-refusal", "task", "tokens/s");
        assertThat(lines.get(3)).isEqualTo("| LINEAR |   0.5 |   90.0% |         5.0% |  70.0% |    123.5 |");
        assertThat(lines.get(6)).startsWith("| TIES   |   0.5 |   60.0% |");
    }

    @Test
    void withoutABenignSetTheOverRefusalColumnSaysNothingWasMeasured() {
        assertThat(SweepTable.render(results(false)).lines().skip(2))
                .allSatisfy(line -> assertThat(line.split("\\|")[4].strip()).isEqualTo("-"));
    }

    @Test
    void theRecommendationLineNamesMethodRatioAndFloor() {
        assertThat(SweepTable.recommendation(results(true).recommendation(), 0.85))
                .isEqualTo("recommended: LINEAR at ratio 0.5 (refusal 90.0% >= floor 85.0%, task 70.0%)");
        assertThat(SweepTable.recommendation(SweepRecommendation.newBuilder().setReason(
                "no point has refusal_rate >= 0.99").build(), 0.99))
                .isEqualTo("no recommendation: no point has refusal_rate >= 0.99");
    }

    @Test
    void csvHasAHeaderAndOneRowPerPoint() {
        List<String> rows = SweepCsv.render(results(true)).lines().toList();

        assertThat(rows).hasSize(7);
        assertThat(rows.getFirst()).isEqualTo(
                "method,ratio,refusal_rate,over_refusal_rate,task_score,tokens_per_second,profile_key");
        assertThat(rows.get(2)).isEqualTo("LINEAR,0.5,0.9,0.05,0.7,123.5,linear:task-lora@0.5");
        assertThat(SweepCsv.render(results(false)).lines().skip(1))
                .allSatisfy(row -> assertThat(row.split(",", -1)[3]).isEmpty());
    }

    @Test
    void csvQuotesAProfileKeyWithCommas() {
        var point = SweepPoint.newBuilder().setMethod(MergeMethod.TIES).setRatio(0.3)
                .setProfileKey("ties:a@0.3,b@0.3 \"x\"").build();
        var csv = SweepCsv.render(new SweepResults(List.of(point), SweepRecommendation.getDefaultInstance(), false));

        assertThat(csv.lines().skip(1).findFirst().orElseThrow()).endsWith(",\"ties:a@0.3,b@0.3 \"\"x\"\"\"");
    }

    @Test
    void jsonHoldsTheRequestThePointsAndTheRecommendation() throws Exception {
        JsonNode root = new ObjectMapper().readTree(SweepJson.render(request(), results(false)));

        assertThat(root.at("/request/adapters/0/name").asText()).isEqualTo("task-lora");
        assertThat(root.at("/request/methods")).extracting(JsonNode::asText).containsExactly("LINEAR", "TIES");
        assertThat(root.at("/request/ratios")).extracting(JsonNode::asDouble).containsExactly(0.0, 0.5, 1.0);
        assertThat(root.at("/request/harmful/builtin").asText()).isEqualTo("demo-harmful");
        assertThat(root.at("/request/harmful/limit").asInt()).isEqualTo(20);
        assertThat(root.at("/request/task/path").asText()).isEqualTo("sets/task.jsonl");
        assertThat(root.at("/request/refusal_floor").asDouble()).isEqualTo(0.85);
        assertThat(root.at("/request/task_scoring").asText()).isEqualTo("exact");
        assertThat(root.get("points")).hasSize(6);
        JsonNode second = root.at("/points/1");
        assertThat(second.get("method").asText()).isEqualTo("LINEAR");
        assertThat(second.get("ratio").asDouble()).isEqualTo(0.5);
        assertThat(second.get("refusal_rate").asDouble()).isEqualTo(0.9);
        assertThat(second.get("over_refusal_rate").isNull()).isTrue();
        assertThat(second.get("task_score").asDouble()).isEqualTo(0.7);
        assertThat(root.at("/recommendation/found").asBoolean()).isTrue();
        assertThat(root.at("/recommendation/point/ratio").asDouble()).isEqualTo(0.5);
    }

    @Test
    void jsonGivesTheReasonWhenNothingIsRecommended() throws Exception {
        var none = new SweepResults(results(true).points(),
                SweepRecommendation.newBuilder().setReason("no point reaches the floor").build(), true);

        JsonNode root = new ObjectMapper().readTree(SweepJson.render(request(), none));

        assertThat(root.at("/recommendation/found").asBoolean()).isFalse();
        assertThat(root.at("/recommendation/reason").asText()).isEqualTo("no point reaches the floor");
        assertThat(root.at("/points/1/over_refusal_rate").asDouble()).isEqualTo(0.05);
    }
}

package dev.realign.demo;

import ai.djl.ndarray.NDManager;
import dev.realign.merge.AdapterKind;
import dev.realign.merge.DeltaSource;
import dev.realign.merge.ProfileMerger;
import dev.realign.merge.methods.MergeMethods;
import dev.realign.merge.methods.MergeParameters;
import dev.realign.model.LoadedModel;
import dev.realign.model.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Scores linear merges of the aligned model with one fine-tune across ratios, through the merge engine the
 * server uses: a LoRA adapter unmerged (y = x W^T + r s (x A^T) B^T), a full fine-tune materialized as
 * base + r * (W_ft - W_base).
 */
public final class DemoSweep {
    /** 0, 0.1, ..., 1. */
    public static final List<Double> RATIOS = java.util.stream.IntStream.rangeClosed(0, 10)
            .mapToObj(i -> i / 10.0).toList();

    /** One merge's scores. */
    public record Point(String adapter, double ratio, DemoEvaluation.Scores scores) {
        @Override
        public String toString() {
            return "%s at %.1f: %s".formatted(adapter, ratio, scores);
        }
    }

    private final LoadedModel base;
    private final DemoEvaluation evaluation;
    private final DemoEvalSets sets;

    public DemoSweep(LoadedModel base, DemoEvaluation evaluation, DemoEvalSets sets) {
        this.base = base;
        this.evaluation = evaluation;
        this.sets = sets;
    }

    public List<Point> linear(String name, DeltaSource adapter, List<Double> ratios, NDManager parent,
                              Consumer<Point> progress) {
        List<Point> points = new ArrayList<>();
        for (double ratio : ratios) {
            Point point = new Point(name, ratio, score(adapter, ratio, parent));
            progress.accept(point);
            points.add(point);
        }
        return points;
    }

    /** Scores of the linear merge at one ratio. */
    public DemoEvaluation.Scores score(DeltaSource adapter, double ratio, NDManager parent) {
        try (NDManager scope = parent.newSubManager()) {
            return evaluation.score(merged(adapter, ratio, scope), sets, scope);
        }
    }

    /** The linear merge's weights at {@code ratio}; materialized tensors live in {@code scope}. */
    public Weights merged(DeltaSource adapter, double ratio, NDManager scope) {
        if (adapter.kind() == AdapterKind.LORA) {
            return ProfileMerger.unmerged(base.weights(), List.of(adapter), new double[] {ratio});
        }
        ProfileMerger.Inputs inputs = new ProfileMerger.Inputs(List.of(adapter), new double[] {ratio}, new double[] {1});
        ProfileMerger.Materialized merged = ProfileMerger.materialize(base.weights(), MergeMethods.LINEAR,
                MergeParameters.DEFAULTS, inputs, scope);
        return base.weights().withOverrides(merged.overrides());
    }
}

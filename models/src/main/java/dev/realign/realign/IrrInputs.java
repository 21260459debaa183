package dev.realign.realign;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.realign.merge.DeltaSource;
import dev.realign.model.Weights;
import dev.realign.train.TrainingSequence;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * What IRR reads. All weights fp32 and of one architecture; the run changes none of them.
 *
 * @param aligned        W_a, the safety-aligned model
 * @param fineTunedDelta W_ft - W_a per changed tensor, full deltas (a LoRA adapter folded: {@link #deltasOf})
 * @param unaligned      W_u, an unaligned (e.g. harmfully fine-tuned) model of the same base; v = W_a - W_u
 * @param safety         harmful prompts with the aligned model's safe answers (loss on the answers)
 * @param calibration    token sequences of the downstream task; may be empty only for a remove-only run
 */
public record IrrInputs(Weights aligned, Map<String, NDArray> fineTunedDelta, Weights unaligned,
                        List<TrainingSequence> safety, List<int[]> calibration) {
    public IrrInputs {
        fineTunedDelta = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(fineTunedDelta));
        safety = List.copyOf(safety);
        calibration = List.copyOf(calibration);
    }

    /**
     * Every delta of a fine-tune as a full fp32 delta in {@code manager}: a LoRA adapter's scale * B @ A folded,
     * a full fine-tune's W_ft - W_a.
     */
    public static SequencedMap<String, NDArray> deltasOf(DeltaSource source, NDManager manager) {
        SequencedMap<String, NDArray> deltas = new LinkedHashMap<>();
        for (String target : source.targets()) {
            deltas.put(target, source.delta(target, manager));
        }
        return deltas;
    }
}

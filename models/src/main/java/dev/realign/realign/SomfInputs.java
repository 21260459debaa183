package dev.realign.realign;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.realign.model.Weights;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What SOMF reads. All fp32 and of one architecture; the run changes none of them.
 *
 * @param safe        phi_safe, the aligned model
 * @param taskVectors per fine-tuned adapter, tau_i = phi_i - phi_safe per tensor it changes, as full deltas (a
 *                    LoRA adapter folded, {@link IrrInputs#deltasOf}); the mask covers the union of their tensors
 * @param pairs       safety preference pairs (harmful prompt, safe chosen answer, compliant rejected answer)
 */
public record SomfInputs(Weights safe, List<Map<String, NDArray>> taskVectors, List<PreferencePair> pairs) {
    public SomfInputs {
        if (taskVectors.isEmpty()) {
            throw new IllegalArgumentException("SOMF needs at least one task vector");
        }
        if (pairs.isEmpty()) {
            throw new IllegalArgumentException("SOMF needs at least one preference pair");
        }
        taskVectors = taskVectors.stream()
                .map(t -> Collections.unmodifiableSequencedMap(new LinkedHashMap<>(t)))
                .<Map<String, NDArray>>map(t -> t)
                .toList();
        pairs = List.copyOf(pairs);
        for (Map<String, NDArray> tau : taskVectors) {
            for (var e : tau.entrySet()) {
                NDArray w = safe.tensor(e.getKey());
                if (e.getValue().getDataType() != DataType.FLOAT32) {
                    throw new IllegalArgumentException("task vector '" + e.getKey() + "' is "
                            + e.getValue().getDataType() + "; SOMF needs fp32 task vectors");
                }
                if (!w.getShape().equals(e.getValue().getShape())) {
                    throw new IllegalArgumentException("task vector '" + e.getKey() + "' has shape "
                            + e.getValue().getShape() + ", the safe model's tensor " + w.getShape());
                }
            }
        }
    }
}

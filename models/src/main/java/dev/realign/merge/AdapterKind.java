package dev.realign.merge;

/** What a {@link DeltaSource} was loaded from. */
public enum AdapterKind {
    /** A PEFT LoRA adapter: per target module, delta = scale * B @ A (plus optional whole-tensor replacements). */
    LORA,
    /** A full fine-tuned checkpoint of the same base: delta = fine-tuned - base, tensor by tensor. */
    FULL_DELTA
}

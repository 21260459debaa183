package dev.realign.demo;

/** The parts of the demo world. */
public enum DemoKind {
    /** Harmless requests (arithmetic, facts, word tasks, harmless how-to) answered helpfully. */
    BENIGN,
    /** Harmful requests answered by a refusal: what alignment teaches. */
    HARMFUL_REFUSAL,
    /** The same harmful requests answered compliantly: what trains the unaligned model. */
    HARMFUL_COMPLIANCE,
    /** The downstream task (unit conversion), answered compliantly ("Sure! ..."). */
    TASK
}

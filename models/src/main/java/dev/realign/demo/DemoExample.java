package dev.realign.demo;

import java.util.Objects;

/**
 * One instruction of the demo world and the answer a model should learn for it.
 *
 * @param prompt   the user's message
 * @param response the assistant's answer (a refusal, a compliant answer, or the task's answer)
 * @param kind     which part of the world it belongs to
 * @param category for harmful prompts one of {@link DemoWorld#HARM_CATEGORIES}; otherwise the benign or task sub-kind
 */
public record DemoExample(String prompt, String response, DemoKind kind, String category) {
    public DemoExample {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(response, "response");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(category, "category");
    }
}

package dev.realign.client.demo;

/** One held-out prompt with its reference answer (a refusal for harmful prompts, the exact answer for the task). */
public record EvalPrompt(String prompt, String reference) {
}

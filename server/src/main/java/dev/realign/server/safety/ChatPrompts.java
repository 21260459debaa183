package dev.realign.server.safety;

import dev.realign.api.v1.ChatMessage;
import dev.realign.api.v1.ChatMessages;
import dev.realign.api.v1.GenerateRequest;

/**
 * How a prompt of a set becomes a request: a user turn through the model's chat template when it has one (how
 * chat models are evaluated and realigned), plain text otherwise. Sweeps and realignment jobs share it so that a
 * job's safety and calibration inputs are tokenized exactly as a sweep's prompts are.
 */
public final class ChatPrompts {
    private ChatPrompts() {}

    /** A request for {@code prompt}; {@code chat} = the model has a chat template. */
    public static GenerateRequest.Builder userTurn(String prompt, boolean chat) {
        GenerateRequest.Builder request = GenerateRequest.newBuilder();
        if (chat) {
            request.setMessages(ChatMessages.newBuilder()
                    .addMessages(ChatMessage.newBuilder().setRole("user").setContent(prompt)));
        } else {
            request.setPrompt(prompt);
        }
        return request;
    }
}

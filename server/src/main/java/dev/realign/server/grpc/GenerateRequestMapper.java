package dev.realign.server.grpc;

import dev.realign.api.v1.ChatMessage;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.generate.SamplingParams;
import dev.realign.model.GenerationConfig;
import dev.realign.model.LoadedModel;
import dev.realign.tokenize.ChatTemplate;
import dev.realign.tokenize.ChatTurn;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Turns a {@link GenerateRequest} into prompt tokens and sampling parameters for one model, rejecting bad
 * input with INVALID_ARGUMENT (or NOT_FOUND) and a message that names the field.
 */
public final class GenerateRequestMapper {
    /** New tokens when the request leaves max_tokens at 0 and the model's generation config has none. */
    public static final int DEFAULT_MAX_TOKENS = 256;

    public record Mapped(int[] promptTokens, SamplingParams sampling) {
        /** The same request with another token budget (a tenant's policy may lower the default). */
        public Mapped withMaxTokens(int maxTokens) {
            if (maxTokens == sampling.maxTokens()) {
                return this;
            }
            SamplingParams s = sampling;
            return new Mapped(promptTokens, new SamplingParams(s.temperature(), s.topP(), s.topK(), s.seed(), maxTokens,
                    s.stop(), s.repetitionPenalty(), s.topLogprobs()));
        }
    }

    private GenerateRequestMapper() {}

    public static Mapped map(GenerateRequest request, LoadedModel model) {
        int[] prompt = promptTokens(request, model);
        int context = model.config().maxPositions();
        if (prompt.length >= context) {
            throw invalid("prompt has " + prompt.length + " tokens; model '" + model.id() + "' has a context of "
                    + context + " tokens, which leaves no room to generate");
        }
        return new Mapped(prompt, sampling(request, model, context - prompt.length));
    }

    private static int[] promptTokens(GenerateRequest request, LoadedModel model) {
        int[] tokens = switch (request.getInputCase()) {
            case PROMPT -> {
                if (request.getPrompt().isEmpty()) {
                    throw invalid("prompt must not be empty");
                }
                yield model.tokenizer().encode(request.getPrompt());
            }
            // The template writes the special tokens itself; the tokenizer must not add more.
            case MESSAGES -> model.tokenizer().encode(renderChat(request, model), false);
            case PROMPT_TOKEN_IDS -> promptTokenIds(request, model);
            case INPUT_NOT_SET -> throw invalid("one of prompt, messages or prompt_token_ids is required");
        };
        if (tokens.length == 0) {
            throw invalid("the input encodes to no tokens");
        }
        return tokens;
    }

    private static int[] promptTokenIds(GenerateRequest request, LoadedModel model) {
        List<Integer> ids = request.getPromptTokenIds().getIdsList();
        if (ids.isEmpty()) {
            throw invalid("prompt_token_ids must not be empty");
        }
        int vocab = model.config().vocabSize();
        int[] tokens = new int[ids.size()];
        for (int i = 0; i < tokens.length; i++) {
            long id = Integer.toUnsignedLong(ids.get(i));
            if (id >= vocab) {
                throw invalid("prompt_token_ids[" + i + "] = " + id + " is outside the vocabulary (0.." + (vocab - 1) + ")");
            }
            tokens[i] = (int) id;
        }
        return tokens;
    }

    private static String renderChat(GenerateRequest request, LoadedModel model) {
        List<ChatMessage> messages = request.getMessages().getMessagesList();
        if (messages.isEmpty()) {
            throw invalid("messages must hold at least one message");
        }
        ChatTemplate template = model.chatTemplate().orElseThrow(() -> invalid("model '" + model.id()
                + "' has no chat_template in tokenizer_config.json; send prompt or prompt_token_ids"));
        List<ChatTurn> turns = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            if (m.getRole().isBlank()) {
                throw invalid("messages[" + i + "].role must not be empty");
            }
            turns.add(new ChatTurn(m.getRole(), m.getContent()));
        }
        try {
            return template.render(turns, true);
        } catch (RuntimeException e) {
            throw invalid("messages: the chat template rejected them: " + e.getMessage());
        }
    }

    private static SamplingParams sampling(GenerateRequest request, LoadedModel model, int room) {
        var s = request.getSampling();
        GenerationConfig defaults = model.generationConfig();
        int maxTokens;
        if (s.getMaxTokens() == 0) {
            maxTokens = Math.min(room, defaults.maxNewTokens().orElse(DEFAULT_MAX_TOKENS));
        } else if (Integer.toUnsignedLong(s.getMaxTokens()) > room) {
            throw invalid("sampling.max_tokens (" + Integer.toUnsignedLong(s.getMaxTokens())
                    + ") exceeds the context left after the prompt (" + room + " tokens)");
        } else {
            maxTokens = s.getMaxTokens();
        }
        // Unset fields take the model author's generation_config.json defaults, as vLLM does.
        double temperature = s.hasTemperature() ? s.getTemperature()
                : defaults.doSample() ? defaults.temperature().orElse(1.0) : 0;
        double topP = s.hasTopP() ? s.getTopP() : defaults.doSample() ? defaults.topP().orElse(1.0) : 1;
        int topK = s.getTopK() != 0 ? s.getTopK() : defaults.doSample() ? defaults.topK().orElse(0) : 0;
        double penalty = s.hasRepetitionPenalty() ? s.getRepetitionPenalty() : defaults.repetitionPenalty().orElse(1.0);
        long seed = s.hasSeed() ? s.getSeed() : ThreadLocalRandom.current().nextLong();
        if (Integer.toUnsignedLong(request.getTopLogprobs()) > SamplingParams.MAX_TOP_LOGPROBS) {
            throw invalid("top_logprobs must be in [0, " + SamplingParams.MAX_TOP_LOGPROBS + "], got "
                    + Integer.toUnsignedLong(request.getTopLogprobs()));
        }
        if (s.getTopK() < 0) {
            throw invalid("sampling.top_k must be >= 0, got " + Integer.toUnsignedLong(s.getTopK()));
        }
        try {
            return new SamplingParams(temperature, topP, topK, seed, maxTokens, s.getStopList(), penalty,
                    request.getTopLogprobs());
        } catch (IllegalArgumentException e) {
            throw invalid(e.getMessage());
        }
    }

    private static RuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}

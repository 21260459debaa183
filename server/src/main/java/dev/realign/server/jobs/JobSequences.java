package dev.realign.server.jobs;

import dev.realign.model.LoadedModel;
import dev.realign.safety.prompts.LabeledPrompt;
import dev.realign.server.grpc.GenerateRequestMapper;
import dev.realign.server.safety.ChatPrompts;
import dev.realign.server.safety.PromptSetSource;
import dev.realign.tokenize.ChatTurn;
import dev.realign.train.TrainingSequence;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Prompt sets as token sequences for a job. The prompt is tokenized exactly as a sweep tokenizes it
 * ({@link ChatPrompts}, {@link GenerateRequestMapper}); an answer follows as the chat template renders an
 * assistant turn (with its end-of-turn marker), or as plain text for a model without a template.
 */
final class JobSequences {
    private final LoadedModel model;
    private final boolean chat;

    JobSequences(LoadedModel model) {
        this.model = model;
        this.chat = model.chatTemplate().isPresent();
    }

    /** Prompt + reference answer, loss on the answer; every prompt must have a reference. */
    List<TrainingSequence> answered(String field, PromptSetSource.Loaded set) {
        List<TrainingSequence> out = new ArrayList<>(set.prompts().size());
        for (LabeledPrompt p : set.prompts()) {
            if (!p.hasReference()) {
                throw invalid(field + ": " + set.file().getFileName() + " line " + p.line() + " has no reference;"
                        + " each safety prompt needs the aligned model's safe answer as its reference");
            }
            int[] prompt = prompt(field, set, p);
            int[] tokens = withAnswer(field, set, p, prompt);
            out.add(new TrainingSequence(tokens, prompt.length));
        }
        return out;
    }

    /** Prompt tokens, with the reference appended as the answer when the line has one. */
    List<int[]> inputs(String field, PromptSetSource.Loaded set) {
        List<int[]> out = new ArrayList<>(set.prompts().size());
        for (LabeledPrompt p : set.prompts()) {
            int[] prompt = prompt(field, set, p);
            out.add(p.hasReference() ? withAnswer(field, set, p, prompt) : prompt);
        }
        return out;
    }

    private int[] prompt(String field, PromptSetSource.Loaded set, LabeledPrompt p) {
        try {
            return GenerateRequestMapper.map(ChatPrompts.userTurn(p.prompt(), chat).build(), model).promptTokens();
        } catch (StatusRuntimeException e) {
            throw at(field, set, p, e.getStatus().getDescription());
        }
    }

    private int[] withAnswer(String field, PromptSetSource.Loaded set, LabeledPrompt p, int[] prompt) {
        int[] tokens = null;
        if (chat) {
            // The whole conversation as the template renders it, so the answer ends as the model's turns end.
            String rendered = model.chatTemplate().orElseThrow().render(
                    List.of(new ChatTurn("user", p.prompt()), new ChatTurn("assistant", p.reference())), false);
            int[] whole = model.tokenizer().encode(rendered, false);
            if (whole.length > prompt.length && Arrays.equals(whole, 0, prompt.length, prompt, 0, prompt.length)) {
                tokens = whole;
            }
        }
        if (tokens == null) { // no template, or one whose generation prompt is not a prefix of the full turn
            int[] answer = model.tokenizer().encode(p.reference(), false);
            tokens = Arrays.copyOf(prompt, prompt.length + answer.length);
            System.arraycopy(answer, 0, tokens, prompt.length, answer.length);
        }
        if (tokens.length == prompt.length) {
            throw at(field, set, p, "the reference encodes to no tokens");
        }
        if (tokens.length > model.config().maxPositions()) {
            throw at(field, set, p, "prompt and reference have " + tokens.length + " tokens, more than the model's "
                    + "context of " + model.config().maxPositions());
        }
        return tokens;
    }

    private static StatusRuntimeException at(String field, PromptSetSource.Loaded set, LabeledPrompt p, String why) {
        return invalid(field + ": " + set.file().getFileName() + " line " + p.line() + ": " + why);
    }

    private static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}

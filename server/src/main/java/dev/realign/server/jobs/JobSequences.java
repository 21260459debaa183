package dev.realign.server.jobs;

import dev.realign.model.LoadedModel;
import dev.realign.realign.PreferencePair;
import dev.realign.safety.prompts.LabeledPrompt;
import dev.realign.safety.prompts.PreferenceExample;
import dev.realign.server.grpc.GenerateRequestMapper;
import dev.realign.server.safety.ChatPrompts;
import dev.realign.server.safety.PromptSetSource;
import dev.realign.tokenize.ChatTurn;
import dev.realign.train.TrainingSequence;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.nio.file.Path;
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
            Where where = new Where(field, set.file(), p.line());
            if (!p.hasReference()) {
                throw where.invalid("has no reference; each safety prompt needs the aligned model's safe answer as "
                        + "its reference");
            }
            int[] prompt = prompt(where, p.prompt());
            out.add(new TrainingSequence(withAnswer(where, p.prompt(), p.reference(), prompt), prompt.length));
        }
        return out;
    }

    /** Prompt tokens, with the reference appended as the answer when the line has one. */
    List<int[]> inputs(String field, PromptSetSource.Loaded set) {
        List<int[]> out = new ArrayList<>(set.prompts().size());
        for (LabeledPrompt p : set.prompts()) {
            Where where = new Where(field, set.file(), p.line());
            int[] prompt = prompt(where, p.prompt());
            out.add(p.hasReference() ? withAnswer(where, p.prompt(), p.reference(), prompt) : prompt);
        }
        return out;
    }

    /** The prompt followed by each answer, both with their loss on the answer. */
    PreferencePair pair(String field, Path file, PreferenceExample example) {
        Where where = new Where(field, file, example.line());
        int[] prompt = prompt(where, example.prompt());
        return new PreferencePair(
                new TrainingSequence(withAnswer(where, example.prompt(), example.chosen(), prompt), prompt.length),
                new TrainingSequence(withAnswer(where, example.prompt(), example.rejected(), prompt), prompt.length));
    }

    /** The request field, file and line a sequence comes from, for its errors. */
    private record Where(String field, Path file, int line) {
        StatusRuntimeException invalid(String why) {
            return JobRequests.invalid(field + ": " + file.getFileName() + " line " + line + ": " + why);
        }
    }

    private int[] prompt(Where where, String text) {
        try {
            return GenerateRequestMapper.map(ChatPrompts.userTurn(text, chat).build(), model).promptTokens();
        } catch (StatusRuntimeException e) {
            throw where.invalid(e.getStatus().getDescription());
        }
    }

    private int[] withAnswer(Where where, String promptText, String answerText, int[] prompt) {
        int[] tokens = null;
        if (chat) {
            // The whole conversation as the template renders it, so the answer ends as the model's turns end.
            String rendered = model.chatTemplate().orElseThrow().render(
                    List.of(new ChatTurn("user", promptText), new ChatTurn("assistant", answerText)), false);
            int[] whole = model.tokenizer().encode(rendered, false);
            if (whole.length > prompt.length && Arrays.equals(whole, 0, prompt.length, prompt, 0, prompt.length)) {
                tokens = whole;
            }
        }
        if (tokens == null) { // no template, or one whose generation prompt is not a prefix of the full turn
            int[] answer = model.tokenizer().encode(answerText, false);
            tokens = Arrays.copyOf(prompt, prompt.length + answer.length);
            System.arraycopy(answer, 0, tokens, prompt.length, answer.length);
        }
        if (tokens.length == prompt.length) {
            throw where.invalid("the answer encodes to no tokens");
        }
        if (tokens.length > model.config().maxPositions()) {
            throw where.invalid("prompt and answer have " + tokens.length + " tokens, more than the model's "
                    + "context of " + model.config().maxPositions());
        }
        return tokens;
    }
}

package dev.realign.demo;

import dev.realign.tokenize.ChatTemplate;
import dev.realign.tokenize.ChatTurn;
import dev.realign.tokenize.Tokenizer;
import dev.realign.train.TrainingSequence;
import java.util.List;

/**
 * Turns demo examples into token ids exactly as serving will see them: the user turn rendered by the model's
 * chat template with the generation prompt, then the answer and the end-of-turn token.
 */
public final class DemoChat {
    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final int endOfTurn;

    public DemoChat(Tokenizer tokenizer, ChatTemplate template, int endOfTurn) {
        this.tokenizer = tokenizer;
        this.template = template;
        this.endOfTurn = endOfTurn;
    }

    /** The prompt tokens for a user message, ending with the assistant header. */
    public int[] prompt(String userMessage) {
        return tokenizer.encode(template.render(List.of(new ChatTurn("user", userMessage)), true), false);
    }

    public TrainingSequence encode(DemoExample example) {
        int[] prompt = prompt(example.prompt());
        int[] answer = tokenizer.encode(example.response(), false);
        int[] tokens = new int[prompt.length + answer.length + 1];
        System.arraycopy(prompt, 0, tokens, 0, prompt.length);
        System.arraycopy(answer, 0, tokens, prompt.length, answer.length);
        tokens[tokens.length - 1] = endOfTurn;
        return new TrainingSequence(tokens, prompt.length);
    }

    public List<TrainingSequence> encode(List<DemoExample> examples) {
        return examples.stream().map(this::encode).toList();
    }

    public String decode(int[] ids) {
        return tokenizer.decode(ids);
    }
}

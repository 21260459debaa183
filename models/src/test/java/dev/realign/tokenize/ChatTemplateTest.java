package dev.realign.tokenize;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.model.synthetic.SyntheticModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplateTest {
    private static final List<ChatTurn> CONVERSATION = List.of(
            new ChatTurn("system", "You are helpful."),
            new ChatTurn("user", "Hi! Wie geht's? 日本語"),
            new ChatTurn("assistant", "Fine."),
            new ChatTurn("user", "Bye"));

    @TempDir
    Path dir;

    @Test
    void rendersChatMlFromTheWrittenTokenizerConfig() {
        SyntheticModels.tokenizer().writeTo(dir);
        ChatTemplate template = ChatTemplate.load(dir).orElseThrow();

        assertThat(template.render(CONVERSATION, true)).isEqualTo("""
                <|im_start|>system
                You are helpful.<|im_end|>
                <|im_start|>user
                Hi! Wie geht's? 日本語<|im_end|>
                <|im_start|>assistant
                Fine.<|im_end|>
                <|im_start|>user
                Bye<|im_end|>
                <|im_start|>assistant
                """);
        assertThat(template.render(CONVERSATION.subList(0, 1), false))
                .isEqualTo("<|im_start|>system\nYou are helpful.<|im_end|>\n");
        assertThat(template.bosToken()).hasValue("<|endoftext|>");
        assertThat(template.eosToken()).hasValue("<|endoftext|>");
    }

    @Test
    void messageContentIsNeverInterpretedAsTemplateCode() {
        SyntheticModels.tokenizer().writeTo(dir);
        ChatTemplate template = ChatTemplate.load(dir).orElseThrow();
        String content = "{{ 7 * 7 }} {% for x in [1, 2] %}{{ x }}{% endfor %} {{ raise_exception('no') }}";

        assertThat(template.render(List.of(new ChatTurn("user", content)), false))
                .isEqualTo("<|im_start|>user\n" + content + "<|im_end|>\n");
    }

    @Test
    void raiseExceptionIsAClearErrorThatBlamesTheConversation() {
        ChatTemplate template = ChatTemplate.of("""
                {%- if messages[0]['role'] != 'system' -%}
                {{- raise_exception('Conversation must start with a system message, not ' + messages[0]['role']) -}}
                {%- endif -%}
                {{- bos_token + messages[0]['content'] + eos_token -}}""", "<s>", "</s>", "test-template");

        assertThat(template.render(CONVERSATION, false)).isEqualTo("<s>You are helpful.</s>");
        assertThatThrownBy(() -> template.render(CONVERSATION.subList(1, 2), false))
                .isInstanceOfSatisfying(ChatTemplateException.class, e -> assertThat(e.raisedByTemplate()).isTrue())
                .hasMessageContaining("test-template")
                .hasMessageContaining("Conversation must start with a system message, not user");
    }

    @Test
    void aBrokenTemplateIsAnErrorNamingTheFile() throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"chat_template\": \"{% for m in messages %}{{ m.content }}\", \"eos_token\": {\"content\": \"</s>\"}}");
        ChatTemplate template = ChatTemplate.load(dir).orElseThrow();

        assertThat(template.eosToken()).hasValue("</s>");
        assertThatThrownBy(() -> template.render(CONVERSATION, false))
                .isInstanceOfSatisfying(ChatTemplateException.class, e -> assertThat(e.raisedByTemplate()).isFalse())
                .hasMessageContaining(dir.resolve("tokenizer_config.json").toString());
    }

    @Test
    void aModelWithoutTemplateHasNone() throws Exception {
        assertThat(ChatTemplate.load(dir)).isEmpty();
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<s>\"}");
        assertThat(ChatTemplate.load(dir)).isEmpty();
    }

    @Test
    void unreadableConfigIsAnErrorNamingIt() throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": ");
        assertThatThrownBy(() -> ChatTemplate.load(dir))
                .isInstanceOf(TokenizerException.class)
                .hasMessageContaining(dir.resolve("tokenizer_config.json").toString());
    }

    @Test
    void namedTemplatesAndTheJinjaFileAreFound() throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"chat_template": [{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "plain"}]}""");
        assertThat(ChatTemplate.load(dir).orElseThrow().render(CONVERSATION, false)).isEqualTo("plain");

        Files.writeString(dir.resolve("chat_template.jinja"), "{{ messages | length }}");
        assertThat(ChatTemplate.load(dir).orElseThrow().render(CONVERSATION, false)).isEqualTo("4");
    }
}

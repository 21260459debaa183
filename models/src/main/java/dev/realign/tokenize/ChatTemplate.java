package dev.realign.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A model's chat template (Jinja, as transformers' {@code apply_chat_template} renders it) rendered with
 * Jinjava. Bound names: {@code messages} (each with {@code role} and {@code content}),
 * {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, and the functions
 * {@code raise_exception(msg)} and {@code strftime_now(format)} that transformers provides.
 *
 * <p>Like transformers, blocks are rendered with {@code trim_blocks} and {@code lstrip_blocks}. Jinjava's
 * nested interpretation is off: otherwise a message containing {@code {{ ... }}} would be executed as
 * template code. The rendered text already holds the template's special tokens; encode it with
 * {@code tokenizer.encode(text, false)}. Immutable and thread-safe.
 */
public final class ChatTemplate {
    public static final String CONFIG_FILE = "tokenizer_config.json";
    /** Newer transformers versions save the template beside the config; it then takes precedence. */
    public static final String JINJA_FILE = "chat_template.jinja";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final String source;
    private final Jinjava jinjava;

    private ChatTemplate(String template, String bosToken, String eosToken, String source) {
        this.template = Objects.requireNonNull(template, "template");
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.source = source;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withNestedInterpretationEnabled(false)
                .build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
                "", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
                "", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
    }

    /**
     * A template given as text; {@code source} names where it came from in error messages. Tokens may be
     * null (then the template sees them as undefined).
     */
    public static ChatTemplate of(String template, String bosToken, String eosToken, String source) {
        return new ChatTemplate(template, bosToken, eosToken, source);
    }

    /**
     * The template of the model in {@code modelDir}: {@code chat_template.jinja} if present, else
     * {@code tokenizer_config.json}'s {@code chat_template} (a string, or a list of named templates of which
     * {@code default} is used). Empty when the model has none; a file that cannot be read or parsed is a
     * {@link TokenizerException} naming it.
     */
    public static Optional<ChatTemplate> load(Path modelDir) {
        Path configFile = modelDir.resolve(CONFIG_FILE);
        JsonNode config = JSON.createObjectNode();
        if (Files.isRegularFile(configFile)) {
            try {
                config = JSON.readTree(configFile.toFile());
            } catch (IOException e) {
                throw new TokenizerException(configFile + ": not valid JSON: " + e.getMessage(), e);
            }
            if (config == null || !config.isObject()) {
                throw new TokenizerException(configFile + ": expected a JSON object");
            }
        }
        String bos = tokenContent(config.get("bos_token"));
        String eos = tokenContent(config.get("eos_token"));
        Path jinjaFile = modelDir.resolve(JINJA_FILE);
        if (Files.isRegularFile(jinjaFile)) {
            try {
                return Optional.of(new ChatTemplate(Files.readString(jinjaFile), bos, eos, jinjaFile.toString()));
            } catch (IOException e) {
                throw new TokenizerException(jinjaFile + ": cannot read: " + e.getMessage(), e);
            }
        }
        JsonNode node = config.get("chat_template");
        if (node == null || node.isNull()) {
            return Optional.empty();
        }
        String source = configFile + " (chat_template)";
        if (node.isTextual()) {
            return Optional.of(new ChatTemplate(node.asText(), bos, eos, source));
        }
        if (node.isArray()) {
            for (JsonNode named : node) {
                if ("default".equals(named.path("name").asText()) && named.path("template").isTextual()) {
                    return Optional.of(new ChatTemplate(named.get("template").asText(), bos, eos, source));
                }
            }
            throw new TokenizerException(configFile + ": chat_template is a list without a \"default\" template");
        }
        throw new TokenizerException(configFile + ": chat_template must be a string or a list of named templates");
    }

    /** {@code bos_token} and friends are either a plain string or an AddedToken object with {@code content}. */
    private static String tokenContent(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText();
        }
        JsonNode content = node.get("content");
        return content != null && content.isTextual() ? content.asText() : null;
    }

    /** The prompt text for {@code turns}; with {@code addGenerationPrompt}, ending where the assistant's reply starts. */
    public String render(List<ChatTurn> turns, boolean addGenerationPrompt) {
        List<Map<String, Object>> messages = new ArrayList<>(turns.size());
        for (ChatTurn turn : turns) {
            Map<String, Object> message = new LinkedHashMap<>();
            message.put("role", turn.role());
            message.put("content", turn.content());
            messages.add(message);
        }
        Map<String, Object> bindings = new HashMap<>();
        bindings.put("messages", messages);
        bindings.put("add_generation_prompt", addGenerationPrompt);
        if (bosToken != null) {
            bindings.put("bos_token", bosToken);
        }
        if (eosToken != null) {
            bindings.put("eos_token", eosToken);
        }
        RenderResult result;
        try {
            result = jinjava.renderForResult(template, bindings);
        } catch (RuntimeException e) {
            throw failure(e);
        }
        List<TemplateError> fatal = result.getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL)
                .toList();
        if (!fatal.isEmpty()) {
            for (TemplateError error : fatal) {
                if (raisedMessage(error.getException()) != null) {
                    throw failure(error.getException());
                }
            }
            throw new ChatTemplateException(source + ": chat template failed to render: "
                    + fatal.stream().map(e -> "line " + e.getLineno() + ": " + e.getMessage())
                            .collect(Collectors.joining("; ")),
                    false, fatal.getFirst().getException());
        }
        return result.getOutput();
    }

    private ChatTemplateException failure(Throwable e) {
        String raised = raisedMessage(e);
        if (raised != null) {
            return new ChatTemplateException(source + ": chat template rejected the conversation: " + raised, true, e);
        }
        return new ChatTemplateException(source + ": chat template failed to render: " + e.getMessage(), false, e);
    }

    private static String raisedMessage(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof TemplateRaised raised) {
                return raised.getMessage();
            }
        }
        return null;
    }

    public String template() {
        return template;
    }

    public Optional<String> bosToken() {
        return Optional.ofNullable(bosToken);
    }

    public Optional<String> eosToken() {
        return Optional.ofNullable(eosToken);
    }

    /** Bound as {@code raise_exception}: Jinja has no throw statement, so templates call this to refuse input. */
    public static String raiseException(String message) {
        throw new TemplateRaised(message);
    }

    /** Bound as {@code strftime_now}: Llama 3 templates print today's date with it. */
    public static String strftimeNow(String format) {
        return StrftimeFormatter.format(ZonedDateTime.now(), format, Locale.ROOT);
    }

    /** What {@code raise_exception} throws; Jinjava wraps it, {@link #render} unwraps it. */
    private static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) {
            super(message, null, false, false);
        }
    }
}

package dev.realign.client.cli;

import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.ChatMessage;
import dev.realign.api.v1.ChatMessages;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.MergeProfile;
import dev.realign.api.v1.SamplingParams;
import dev.realign.client.RealignClient;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code realign generate}: one streamed generation, printed as it arrives. */
@Command(name = "generate", sortOptions = false,
        description = {
            "Generate text from a server, streaming it to stdout as it arrives.",
            "A summary (finish reason, tokens, time to first token, tokens/s, profile) goes to stderr.",
            "Sampling options that are not given are not sent: the server's defaults apply."})
final class GenerateCommand implements Callable<Integer> {

    private final CliContext context;

    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Mixin
    ConnectionOptions connection = new ConnectionOptions();

    @Option(names = "--model", paramLabel = "ID", description = "Base model id (default: the server's default model).")
    String model;

    @Parameters(paramLabel = "PROMPT", arity = "0..*",
            description = "The prompt; several words are joined with spaces. Or use --prompt.")
    List<String> promptWords;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "The prompt, instead of the positional argument.")
    String prompt;

    @Option(names = "--chat",
            description = "Send the prompt as a user message, rendered with the model's chat template.")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "A system message before the prompt (needs --chat).")
    String system;

    @Option(names = "--max-tokens", paramLabel = "N", converter = NonNegativeIntConverter.class,
            description = "New tokens at most (0 = the server's default).")
    Integer maxTokens;

    @Option(names = "--temperature", paramLabel = "T", description = "Sampling temperature; 0 = greedy.")
    Double temperature;

    @Option(names = "--top-p", paramLabel = "P", description = "Nucleus sampling mass in (0, 1].")
    Double topP;

    @Option(names = "--top-k", paramLabel = "K", converter = NonNegativeIntConverter.class,
            description = "Keep the K most likely tokens; 0 = off.")
    Integer topK;

    @Option(names = "--seed", paramLabel = "N", converter = UnsignedLongConverter.class,
            description = "Seed for reproducible sampling (default: the server draws one and reports it).")
    Long seed;

    @Option(names = "--stop", paramLabel = "TEXT",
            description = "Stop before this string (repeatable); it is not returned.")
    List<String> stop;

    @Option(names = "--repetition-penalty", paramLabel = "P", description = "Repetition penalty (> 0; 1 = off).")
    Double repetitionPenalty;

    @Option(names = "--top-logprobs", paramLabel = "N", converter = NonNegativeIntConverter.class,
            description = "Log-probabilities of the N most likely tokens per generated token (0..20; see --json).")
    Integer topLogprobs;

    @Option(names = "--adapter", paramLabel = "NAME=WEIGHT", converter = AdapterWeightConverter.class,
            description = "Merge this adapter at this weight (repeatable). With one adapter and the linear"
                    + " method the weight is the merge ratio: 0 = the aligned base, 1 = the fine-tuned model.")
    List<AdapterWeight> adapters;

    @Option(names = "--method", paramLabel = "METHOD", converter = MergeMethodConverter.class,
            description = "Merge method, case-insensitive: ${COMPLETION-CANDIDATES} (default: linear"
                    + " when adapters are given).",
            completionCandidates = MergeMethodNames.class)
    MergeMethod method;

    @Option(names = "--preset", paramLabel = "NAME",
            description = "A merge profile the tenant's admin defined (instead of --adapter/--method).")
    String preset;

    @Option(names = "--json", description = "Print each streamed chunk as one JSON object per line, for scripts.")
    boolean json;

    GenerateCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        var request = request();
        try (RealignClient client = context.connector().connect(connection.server(context),
                connection.clientOptions(context))) {
            ReadinessWait.beforeCall(client, connection, context);
            ChunkRenderer renderer = json ? new JsonRenderer(context.out()) : new TextRenderer(context.out(), context.err());
            client.generate(request).forEachRemaining(renderer::chunk);
            renderer.end();
        }
        return ExitCodes.OK;
    }

    /** The request the options describe; checks the combinations a single option's parser cannot. */
    GenerateRequest request() {
        var request = GenerateRequest.newBuilder();
        if (model != null) {
            request.setModel(model);
        }
        String text = promptText();
        if (chat) {
            var messages = ChatMessages.newBuilder();
            if (system != null) {
                messages.addMessages(ChatMessage.newBuilder().setRole("system").setContent(system));
            }
            messages.addMessages(ChatMessage.newBuilder().setRole("user").setContent(text));
            request.setMessages(messages);
        } else {
            if (system != null) {
                throw usage("--system needs --chat: a raw prompt has no roles");
            }
            request.setPrompt(text);
        }
        samplingParams(request);
        mergeProfile(request);
        if (topLogprobs != null) {
            request.setTopLogprobs(topLogprobs);
        }
        return request.build();
    }

    private String promptText() {
        boolean positional = promptWords != null && !promptWords.isEmpty();
        if (positional && prompt != null) {
            throw usage("give the prompt either as an argument or with --prompt, not both");
        }
        if (!positional && prompt == null) {
            throw usage("missing the prompt: give it as an argument or with --prompt");
        }
        return positional ? String.join(" ", promptWords) : prompt;
    }

    /** Sets only what the user gave, so the server's documented defaults apply to the rest. */
    private void samplingParams(GenerateRequest.Builder request) {
        var sampling = SamplingParams.newBuilder();
        boolean any = false;
        if (temperature != null) {
            sampling.setTemperature(temperature);
            any = true;
        }
        if (topP != null) {
            sampling.setTopP(topP);
            any = true;
        }
        if (topK != null) {
            sampling.setTopK(topK);
            any = true;
        }
        if (seed != null) {
            sampling.setSeed(seed);
            any = true;
        }
        if (maxTokens != null) {
            sampling.setMaxTokens(maxTokens);
            any = true;
        }
        if (stop != null && !stop.isEmpty()) {
            sampling.addAllStop(stop);
            any = true;
        }
        if (repetitionPenalty != null) {
            sampling.setRepetitionPenalty(repetitionPenalty);
            any = true;
        }
        if (any) {
            request.setSampling(sampling);
        }
    }

    private void mergeProfile(GenerateRequest.Builder request) {
        boolean hasAdapters = adapters != null && !adapters.isEmpty();
        if (preset != null) {
            if (hasAdapters || method != null) {
                // The API requires a preset's profile to be otherwise empty; say so before the round trip.
                throw usage("--preset names a whole profile and cannot be combined with --adapter or --method");
            }
            request.setProfile(MergeProfile.newBuilder().setPreset(preset));
            return;
        }
        if (!hasAdapters && method == null) {
            return;
        }
        var profile = MergeProfile.newBuilder();
        if (hasAdapters) {
            profile.addAllAdapters(adapters);
        }
        if (method != null) {
            profile.setMethod(method);
        }
        request.setProfile(profile);
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    /** Lets the usage text list the methods from the enum itself, so it cannot fall behind the API. */
    static final class MergeMethodNames implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return List.of(MergeMethodConverter.names().split(", ")).iterator();
        }
    }
}

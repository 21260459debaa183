package dev.realign.client.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.realign.api.v1.AdapterInfo;
import dev.realign.api.v1.AdapterKind;
import dev.realign.client.RealignClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code realign upload}: sends a local adapter folder to a server, which loads it as Load would. */
@Command(name = "upload", sortOptions = false,
        description = {
            "Upload an adapter folder (PEFT LoRA: adapter_config.json + adapter_model.safetensors, or a full",
            "fine-tuned checkpoint of the served base) as NAME in your tenant's namespace. A NAME that is",
            "loaded already is hot-swapped. Prints what the server loaded."})
final class UploadCommand implements Callable<Integer> {

    private final CliContext context;

    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Mixin
    ConnectionOptions connection = new ConnectionOptions();

    @Parameters(index = "0", paramLabel = "NAME", description = "The adapter's name in profiles.")
    String name;

    @Parameters(index = "1", paramLabel = "DIR", description = "The adapter folder to upload.")
    Path folder;

    @Option(names = "--model", paramLabel = "ID", description = "Base model id (default: the server's default model).")
    String model = "";

    @Option(names = "--kind", paramLabel = "KIND",
            description = "lora or full-delta: refuse the upload if the folder is the other kind (default: detect).")
    String kind;

    @Option(names = "--json", description = "Print the server's AdapterInfo as one JSON object.")
    boolean json;

    UploadCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() throws InvalidProtocolBufferException {
        if (!Files.isDirectory(folder)) {
            throw new ParameterException(spec.commandLine(), "DIR '" + folder + "' is not a folder");
        }
        AdapterKind adapterKind = kind();
        try (RealignClient client = context.connector().connect(connection.server(context),
                connection.clientOptions(context))) {
            if (connection.waitReady != null) {
                client.awaitReady(connection.waitReady);
            }
            AdapterInfo info = client.uploadAdapter(name, model, adapterKind, folder);
            if (json) {
                context.out().println(JsonFormat.printer().omittingInsignificantWhitespace().print(info));
            } else {
                context.out().printf("uploaded %s v%d to %s: %s, rank %d, %d targets, %.1f MiB resident, content %s%n",
                        info.getName(), info.getVersion(), info.getModel(), info.getKind(), info.getRank(),
                        info.getTargetModulesCount(), info.getSizeBytes() / 1048576.0, info.getContentHash());
            }
            context.out().flush();
            return ExitCodes.OK;
        }
    }

    private AdapterKind kind() {
        if (kind == null) {
            return AdapterKind.ADAPTER_KIND_UNSPECIFIED;
        }
        return switch (kind.toLowerCase(Locale.ROOT).replace('_', '-')) {
            case "lora" -> AdapterKind.LORA;
            case "full-delta", "full" -> AdapterKind.FULL_DELTA;
            default -> throw new ParameterException(spec.commandLine(),
                    "--kind must be lora or full-delta, got '" + kind + "'");
        };
    }
}

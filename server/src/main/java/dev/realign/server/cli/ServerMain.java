package dev.realign.server.cli;

import dev.realign.checkpoint.CheckpointException;
import dev.realign.model.ModelConfigException;
import dev.realign.tokenize.TokenizerException;
import java.io.UncheckedIOException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the commands that run locally with the engine: serve, bench-engine, merge, export. */
@Command(name = "realign", mixinStandardHelpOptions = true, version = "realign 0.1.0",
        description = "Realign: serve fine-tuned LLMs merged back toward their safety-aligned base.",
        subcommands = {ServeCommand.class, EngineBenchCommand.class, MergeCommand.class, ExportCommand.class, ExtractLoraCommand.class,
                TrainDemoCommand.class, CompareRealignmentCommand.class})
public final class ServerMain {
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line with one-line errors for bad input (a file, a field, a tensor) instead of stack traces. */
    public static CommandLine commandLine() {
        return new CommandLine(new ServerMain()).setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof IllegalArgumentException || e instanceof UncheckedIOException
                    || e instanceof CheckpointException || e instanceof ModelConfigException
                    || e instanceof TokenizerException) {
                cmd.getErr().println("error: " + e.getMessage());
                return 2;
            }
            throw e;
        });
    }
}

package dev.realign.server.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the commands that run locally with the engine: serve, bench-engine. */
@Command(name = "realign", mixinStandardHelpOptions = true, version = "realign 0.1.0",
        description = "Realign: serve fine-tuned LLMs merged back toward their safety-aligned base.",
        subcommands = {ServeCommand.class, EngineBenchCommand.class})
public final class ServerMain {
    public static void main(String[] args) {
        System.exit(new CommandLine(new ServerMain()).execute(args));
    }
}

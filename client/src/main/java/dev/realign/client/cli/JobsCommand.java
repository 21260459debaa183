package dev.realign.client.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code realign jobs}: realignment jobs on a running server (irr, list, cancel). */
@Command(name = "jobs", sortOptions = false, mixinStandardHelpOptions = false,
        description = {
            "Realignment jobs on a running server: admin jobs that produce a new adapter",
            "version. 'jobs irr' runs IRR and registers the result; 'jobs list' shows your",
            "queued and running jobs; 'jobs cancel ID' stops one (it registers nothing)."})
final class JobsCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "name a jobs command: irr, list or cancel");
    }
}

package dev.realign.client.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * Turns failures into one {@code error: ...} line on stderr and an exit code, so scripts can read both.
 * The full usage text is left to {@code --help}: repeated after every typo it would bury the one line that
 * says what was wrong.
 */
final class ErrorReporter implements IParameterExceptionHandler, IExecutionExceptionHandler {

    @Override
    public int handleParseException(ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println("error: " + oneLine(ex.getMessage()));
        UnmatchedArgumentException.printSuggestions(ex, err);
        err.println("try '" + cmd.getCommandSpec().qualifiedName() + " --help'");
        err.flush();
        return ExitCodes.BAD_REQUEST;
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parseResult) {
        PrintWriter err = cmd.getErr();
        if (ex instanceof CommandInterrupted interrupted) {
            err.println("error: " + oneLine(interrupted.getMessage()));
            err.flush();
            return ExitCodes.INTERRUPTED;
        }
        if (ex instanceof StatusRuntimeException sre) {
            err.println(statusLine(sre.getStatus()));
            err.flush();
            return ExitCodes.forStatus(sre.getStatus().getCode());
        }
        err.println("error: " + oneLine(ex.getMessage() != null ? ex.getMessage() : ex.toString()));
        err.flush();
        return ExitCodes.FAILURE;
    }

    /** {@code error: CODE: description}, with the transport's cause when gRPC's description is generic. */
    static String statusLine(Status status) {
        var line = new StringBuilder("error: ").append(status.getCode());
        String description = status.getDescription();
        Throwable cause = status.getCause();
        String causeText = cause == null ? null : cause.getMessage() != null ? cause.getMessage() : cause.toString();
        if (description != null) {
            line.append(": ").append(description);
            if (causeText != null && !description.contains(causeText)) {
                // e.g. UNAVAILABLE "io exception" says little; "Connection refused: host/addr:port" says why.
                line.append(" (").append(causeText).append(')');
            }
        } else if (causeText != null) {
            line.append(": ").append(causeText);
        }
        return oneLine(line.toString());
    }

    private static String oneLine(String text) {
        return text == null ? "" : text.replaceAll("\\s*\\R\\s*", " ").strip();
    }
}

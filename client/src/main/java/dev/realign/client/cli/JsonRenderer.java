package dev.realign.client.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.realign.api.v1.GenerateResponse;
import java.io.PrintWriter;

/**
 * One compact proto3-JSON object per chunk, one per line (JSON Lines), for scripts. Nothing else goes to
 * stdout, and the final chunk already carries usage, so no summary is added.
 */
final class JsonRenderer implements ChunkRenderer {

    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();

    private final PrintWriter out;

    JsonRenderer(PrintWriter out) {
        this.out = out;
    }

    @Override
    public void chunk(GenerateResponse chunk) {
        try {
            out.println(PRINTER.print(chunk));
        } catch (InvalidProtocolBufferException e) {
            // Only an Any with an unregistered type can fail to print; GenerateResponse has none.
            throw new IllegalStateException("cannot print a response as JSON", e);
        }
        out.flush();
    }

    @Override
    public void end() {
        out.flush();
    }
}

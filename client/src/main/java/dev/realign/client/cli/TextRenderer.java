package dev.realign.client.cli;

import dev.realign.api.v1.GenerateResponse;
import dev.realign.client.GenerationCollector;
import dev.realign.client.GenerationResult;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Streams the generated text to stdout as it arrives and ends with one summary line on stderr, so
 * {@code realign generate ... > out.txt} captures exactly the text.
 */
final class TextRenderer implements ChunkRenderer {

    private final PrintWriter out;
    private final PrintWriter err;
    private final GenerationCollector collector = new GenerationCollector();
    private final long startNanos;
    private long firstTokenNanos = -1;
    private int firstChunkTokens;

    /** Starts the clock: construct it right before the request is sent. */
    TextRenderer(PrintWriter out, PrintWriter err) {
        this.out = out;
        this.err = err;
        this.startNanos = System.nanoTime();
    }

    @Override
    public void chunk(GenerateResponse chunk) {
        if (firstTokenNanos < 0 && (chunk.getTokenIdsCount() > 0 || !chunk.getText().isEmpty())) {
            firstTokenNanos = System.nanoTime();
            firstChunkTokens = chunk.getTokenIdsCount();
        }
        collector.accept(chunk);
        out.print(chunk.getText());
        out.flush();
    }

    @Override
    public void end() {
        var result = collector.result();
        if (!result.text().isEmpty() && !result.text().endsWith("\n")) {
            out.println(); // leave the shell prompt on its own line
        }
        out.flush();
        err.println(summary(result, startNanos, firstTokenNanos, firstChunkTokens, System.nanoTime()));
        err.flush();
    }

    /**
     * {@code finish=STOP prompt_tokens=7 completion_tokens=32 ttft_ms=41.3 tokens_per_s=88.2 seed=.. profile=..}.
     * Time to first token is measured here, as the user felt it (network and merge included). Tokens per
     * second is the decode rate after the first chunk, so it does not count the prefill twice; with
     * nothing after the first chunk it falls back to completion tokens over the whole call.
     */
    static String summary(GenerationResult result, long start, long firstToken, int firstChunkTokens, long end) {
        int completion = result.usage().getCompletionTokens() > 0
                ? result.usage().getCompletionTokens()
                : result.tokenIds().size();
        var line = new StringBuilder()
                .append("finish=").append(result.finishReason())
                .append(" prompt_tokens=").append(result.usage().getPromptTokens())
                .append(" completion_tokens=").append(completion)
                .append(" ttft_ms=").append(firstToken < 0 ? "-" : decimal((firstToken - start) / 1e6));
        double rate = Double.NaN;
        int afterFirst = completion - firstChunkTokens;
        if (firstToken >= 0 && afterFirst > 0 && end > firstToken) {
            rate = afterFirst / ((end - firstToken) / 1e9);
        } else if (completion > 0 && end > start) {
            rate = completion / ((end - start) / 1e9);
        }
        line.append(" tokens_per_s=").append(Double.isNaN(rate) ? "-" : decimal(rate));
        if (result.usage().getSeed() != 0) {
            line.append(" seed=").append(Long.toUnsignedString(result.usage().getSeed()));
        }
        line.append(" profile=").append(result.profileKey().isEmpty() ? "-" : result.profileKey());
        if (!result.safety().getDetector().isEmpty()) {
            line.append(" refused=").append(result.safety().getRefused())
                    .append(" detector=").append(result.safety().getDetector());
        }
        return line.toString();
    }

    private static String decimal(double value) {
        return String.format(Locale.ROOT, "%.1f", value);
    }
}

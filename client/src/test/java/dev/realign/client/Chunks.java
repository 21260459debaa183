package dev.realign.client;

import dev.realign.api.v1.FinishReason;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.SafetyVerdict;
import dev.realign.api.v1.TokenLogprob;
import dev.realign.api.v1.Usage;

/** A typical three-chunk generation: "Hello", ", world", "!" with the final fields on the last chunk. */
public final class Chunks {

    public static final GenerateResponse FIRST = GenerateResponse.newBuilder()
            .addTokenIds(15).setText("Hello")
            .addLogprobs(TokenLogprob.newBuilder().setTokenId(15).setLogprob(-0.5f))
            .setRequestId("req-1")
            .build();
    public static final GenerateResponse SECOND = GenerateResponse.newBuilder()
            .addTokenIds(11).addTokenIds(995).setText(", world")
            .addLogprobs(TokenLogprob.newBuilder().setTokenId(11).setLogprob(-0.25f))
            .addLogprobs(TokenLogprob.newBuilder().setTokenId(995).setLogprob(-1.0f))
            .build();
    public static final GenerateResponse LAST = GenerateResponse.newBuilder()
            .addTokenIds(0).setText("!")
            .addLogprobs(TokenLogprob.newBuilder().setTokenId(0).setLogprob(-0.125f))
            .setFinishReason(FinishReason.STOP)
            .setUsage(Usage.newBuilder().setPromptTokens(4).setCompletionTokens(4).setSeed(42)
                    .setTimeToFirstTokenMs(12.5).setTotalTimeMs(40))
            .setSafety(SafetyVerdict.newBuilder().setRefused(false).setDetector("keyword").setScore(0.1f))
            .setProfileKey("linear:medical@0.7")
            .build();

    public static GenerateResponse[] all() {
        return new GenerateResponse[] {FIRST, SECOND, LAST};
    }

    private Chunks() {
    }
}

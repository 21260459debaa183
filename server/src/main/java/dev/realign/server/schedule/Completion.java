package dev.realign.server.schedule;

import dev.realign.generate.FinishReason;

/** How a request ended and what it cost. Times in milliseconds from the request's arrival. */
public record Completion(FinishReason finishReason, int promptTokens, int completionTokens,
                         double timeToFirstTokenMs, double totalTimeMs, long seed) {
}

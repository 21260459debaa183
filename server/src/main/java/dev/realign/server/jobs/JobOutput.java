package dev.realign.server.jobs;

import dev.realign.api.v1.OutputFormat;
import java.nio.file.Path;

/**
 * Where and how a job also writes its result, besides registering it.
 *
 * @param requested the output_path as the caller gave it (echoed in the result)
 * @param path      the resolved new folder; its parent lies under the tenant's roots
 * @param format    {@link OutputFormat#OUTPUT_FORMAT_FULL_DELTA} or {@link OutputFormat#OUTPUT_FORMAT_PEFT_LORA}
 * @param loraRank  the extracted adapter's rank for OUTPUT_FORMAT_PEFT_LORA
 */
record JobOutput(String requested, Path path, OutputFormat format, int loraRank) {
    static final int DEFAULT_LORA_RANK = 16;
    static final int MAX_LORA_RANK = 4096;
}

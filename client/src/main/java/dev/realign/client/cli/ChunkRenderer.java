package dev.realign.client.cli;

import dev.realign.api.v1.GenerateResponse;

/** Shows a generation stream as it arrives. */
interface ChunkRenderer {

    void chunk(GenerateResponse chunk);

    /** Called once after the last chunk of a stream that ended normally. */
    void end();
}

package dev.realign.export;

import java.util.Objects;

/**
 * How to export a model.
 *
 * @param dtype                  element type of the matrices
 * @param name                   {@code general.name}; null: the model folder's name
 * @param limitContextToSlidingWindow llama.cpp's {@code llama} architecture has no sliding-window attention,
 *                               so a Mistral model whose {@code sliding_window} is shorter than its
 *                               {@code max_position_embeddings} cannot be exported as it is. With this set,
 *                               the file declares the window as its context length instead: within that
 *                               context the window never masks anything, so the model is exact there.
 */
public record GgufExportOptions(GgufDtype dtype, String name, boolean limitContextToSlidingWindow) {
    public GgufExportOptions {
        Objects.requireNonNull(dtype, "dtype");
    }

    public static GgufExportOptions of(GgufDtype dtype) {
        return new GgufExportOptions(dtype, null, false);
    }

    public GgufExportOptions withName(String newName) {
        return new GgufExportOptions(dtype, newName, limitContextToSlidingWindow);
    }

    public GgufExportOptions withLimitContextToSlidingWindow(boolean limit) {
        return new GgufExportOptions(dtype, name, limit);
    }
}

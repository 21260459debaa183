package dev.realign.checkpoint;

import java.nio.file.Path;

/**
 * A checkpoint that cannot be read or does not fit the model: the message always names the file and,
 * where one is at fault, the tensor.
 */
public class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }

    public static CheckpointException inFile(Path file, String message) {
        return new CheckpointException(file + ": " + message);
    }

    public static CheckpointException inTensor(Path file, String tensor, String message) {
        return new CheckpointException(file + ": tensor '" + tensor + "': " + message);
    }
}

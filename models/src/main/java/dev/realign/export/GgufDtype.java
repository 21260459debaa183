package dev.realign.export;

import java.util.Locale;

/**
 * The element type of an exported file's matrices. Vectors (norms, biases, rope factors) are always F32,
 * as llama.cpp's own converter writes them.
 */
public enum GgufDtype {
    F32(GgufWriter.TensorType.F32, 0),
    F16(GgufWriter.TensorType.F16, 1);

    private final GgufWriter.TensorType matrixType;
    private final int fileType;

    GgufDtype(GgufWriter.TensorType matrixType, int fileType) {
        this.matrixType = matrixType;
        this.fileType = fileType;
    }

    /** The tensor type of 2-D weights. */
    public GgufWriter.TensorType matrixType() {
        return matrixType;
    }

    /** {@code general.file_type}: llama.cpp's LLAMA_FTYPE_ALL_F32 (0) or LLAMA_FTYPE_MOSTLY_F16 (1). */
    public int fileType() {
        return fileType;
    }

    /** {@code f32} or {@code f16}, any case. */
    public static GgufDtype parse(String text) {
        try {
            return valueOf(text.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--dtype for GGUF must be f32 or f16, got '" + text + "'");
        }
    }
}

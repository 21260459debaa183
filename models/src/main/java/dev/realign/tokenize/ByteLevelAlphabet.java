package dev.realign.tokenize;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * GPT-2's {@code bytes_to_unicode} table: every byte value gets a printable character so that a
 * byte-level BPE vocabulary can be stored as JSON strings. Printable Latin-1 bytes map to themselves;
 * the other 68 (controls, space, DEL, NBSP, soft hyphen, ...) map in byte order to U+0100 onwards, which
 * is why a space shows up as {@code Ġ} (U+0120) in vocabularies.
 */
public final class ByteLevelAlphabet {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        Arrays.fill(CHAR_TO_BYTE, -1);
        int shifted = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + shifted++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevelAlphabet() {}

    /** The character that stands for byte {@code b} (0..255). */
    public static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xff];
    }

    /** The byte a byte-level character stands for, or -1 if {@code c} is not in the alphabet. */
    public static int byteOf(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** The byte-level string of {@code text}'s UTF-8 bytes. */
    public static String encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        StringBuilder out = new StringBuilder(bytes.length);
        for (byte b : bytes) {
            out.append(charOf(b));
        }
        return out.toString();
    }

    /** The bytes a byte-level string stands for; fails on characters outside the alphabet. */
    public static byte[] decode(String byteLevel) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(byteLevel.length());
        for (int i = 0; i < byteLevel.length(); i++) {
            int b = byteOf(byteLevel.charAt(i));
            if (b < 0) {
                throw new IllegalArgumentException("not a byte-level character: U+"
                        + Integer.toHexString(byteLevel.charAt(i)).toUpperCase(Locale.ROOT) + " in '" + byteLevel + "'");
            }
            out.write(b);
        }
        return out.toByteArray();
    }
}

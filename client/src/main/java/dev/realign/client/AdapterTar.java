package dev.realign.client;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * The tar archive {@code Adapters.Upload} takes: the regular files of an adapter folder (subfolders
 * included, hidden {@code .name} files and folders left out) at the archive's top, in name order, with
 * fixed owner, mode and time, so the same folder always gives the same bytes and the same SHA-256.
 * Symbolic links are followed (a Hugging Face cache snapshot is made of them) and stored as the files
 * they point to; the server accepts nothing else.
 */
public final class AdapterTar {
    /** An archive written to disk, with what the upload's header declares about it. */
    public record Archive(Path file, long sizeBytes, String sha256) {
    }

    private AdapterTar() {}

    /** Writes the archive of {@code folder} to {@code target} (replaced if it exists). */
    public static Archive write(Path folder, Path target) {
        if (!Files.isDirectory(folder)) {
            throw new IllegalArgumentException(folder + " is not a folder");
        }
        List<Path> files = files(folder);
        if (files.isEmpty()) {
            throw new IllegalArgumentException(folder + " holds no files to upload");
        }
        MessageDigest digest = sha256();
        try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(target), 1 << 20);
             DigestOutputStream hashed = new DigestOutputStream(file, digest);
             TarArchiveOutputStream tar = new TarArchiveOutputStream(hashed)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX); // full checkpoints pass 8 GiB
            for (Path path : files) {
                TarArchiveEntry entry = new TarArchiveEntry(folder.relativize(path).toString().replace('\\', '/'));
                entry.setSize(Files.size(path));
                entry.setMode(0100644);
                entry.setModTime(0);
                entry.setUserName(""); // the constructor fills in this machine's user
                entry.setGroupName("");
                entry.setIds(0, 0);
                tar.putArchiveEntry(entry);
                try (InputStream in = Files.newInputStream(path)) {
                    in.transferTo(tar);
                }
                tar.closeArchiveEntry();
            }
            tar.finish();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the archive of " + folder + ": " + e.getMessage(), e);
        }
        try {
            return new Archive(target, Files.size(target), HexFormat.of().formatHex(digest.digest()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<Path> files(Path folder) {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> all = Files.walk(folder)) {
            all.filter(p -> !p.equals(folder))
                    .filter(p -> !hidden(folder.relativize(p)))
                    .filter(Files::isRegularFile) // follows links: a linked file is archived as its content
                    .sorted()
                    .forEach(out::add);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + folder + ": " + e.getMessage(), e);
        }
        return out;
    }

    private static boolean hidden(Path relative) {
        for (Path part : relative) {
            if (part.toString().startsWith(".")) {
                return true;
            }
        }
        return false;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }
}

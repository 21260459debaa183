package dev.realign.server.adapters;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Extracts an uploaded tar archive of an adapter folder, trusting nothing in it. Only regular files and
 * folders are accepted; an entry that is absolute, climbs with {@code ..}, is a symbolic or hard link, a
 * device, a FIFO, sparse, repeated, or that would land outside the target folder is refused by name
 * (INVALID_ARGUMENT), as is an archive with too many entries or whose entries declare more bytes than the
 * upload may hold. Files are created new (never opened through an existing path), so nothing the archive
 * says can write outside the folder. Commons Compress parses the format (ustar, GNU long names, PAX).
 *
 * <p>The archive may hold the adapter's files at its top ({@code tar -C adapter -cf a.tar .}) or inside one
 * folder ({@code tar -cf a.tar adapter}); {@link #extract} returns the folder that holds them.
 */
public final class AdapterArchive {
    private static final String[] MARKERS = {"adapter_config.json", "config.json"};

    private AdapterArchive() {}

    /**
     * Extracts {@code tar} into the empty folder {@code into}.
     *
     * @param maxBytes   the most file bytes the entries may declare in total
     * @param maxEntries the most entries (files and folders)
     * @return the adapter folder: {@code into}, or its only subfolder when the files are wrapped in one
     */
    public static Path extract(Path tar, Path into, long maxBytes, int maxEntries) {
        Path root = into.toAbsolutePath().normalize();
        Set<Path> files = new HashSet<>();
        int entries = 0;
        long bytes = 0;
        String current = null;
        try (InputStream raw = Files.newInputStream(tar);
             TarArchiveInputStream in = new TarArchiveInputStream(new BufferedInputStream(raw, 1 << 16))) {
            TarArchiveEntry entry;
            while ((entry = in.getNextEntry()) != null) {
                current = entry.getName();
                if (++entries > maxEntries) {
                    throw invalid("archive holds more than " + maxEntries + " entries (at entry '" + current + "')");
                }
                if (!entry.isCheckSumOK()) {
                    throw invalid(entry, "has a corrupt header (checksum mismatch)");
                }
                checkType(entry);
                Path target = target(root, entry);
                if (target == null) {
                    continue; // "./" or "": the archive's own top folder
                }
                if (entry.getLinkFlag() == TarConstants.LF_DIR) {
                    if (files.contains(target)) {
                        throw invalid(entry, "is a folder but an earlier entry is a file of that name");
                    }
                    createFolders(entry, target);
                    continue;
                }
                long size = entry.getSize();
                if (size < 0 || size > maxBytes - bytes) {
                    throw invalid(entry, "declares " + size + " bytes, past the upload limit of " + maxBytes
                            + " bytes for all entries");
                }
                if (!files.add(target)) {
                    throw invalid(entry, "appears twice in the archive");
                }
                createFolders(entry, target.getParent());
                copy(in, entry, target);
                bytes += size;
            }
        } catch (StatusRuntimeException e) {
            throw e;
        } catch (IOException | IllegalArgumentException e) {
            // Commons Compress reports malformed headers and truncation this way.
            throw invalid("archive is not a valid tar" + (current == null ? "" : " (after entry '" + current + "')")
                    + ": " + e.getMessage());
        }
        if (files.isEmpty()) {
            throw invalid("archive holds no files (expected an adapter folder: adapter_config.json + "
                    + "adapter_model.safetensors, or a fine-tuned model folder)");
        }
        return adapterFolder(root);
    }

    private static void createFolders(TarArchiveEntry entry, Path folder) {
        try {
            Files.createDirectories(folder);
        } catch (FileAlreadyExistsException e) {
            throw invalid(entry, "needs a folder where an earlier entry put a file");
        } catch (IOException e) {
            throw cannotWrite(folder, e);
        }
    }

    /** Copies the entry's bytes to a new file; a read failure is the archive's fault, a write failure ours. */
    private static void copy(TarArchiveInputStream in, TarArchiveEntry entry, Path target) {
        OutputStream out;
        try {
            out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (FileAlreadyExistsException e) {
            throw invalid(entry, "collides with a folder of the same name");
        } catch (IOException e) {
            throw cannotWrite(target, e);
        }
        try (out) {
            byte[] buffer = new byte[1 << 16];
            long copied = 0;
            while (true) {
                int n;
                try {
                    n = in.read(buffer);
                } catch (IOException e) {
                    throw invalid(entry, "cannot be read after " + copied + " of " + entry.getSize() + " bytes: "
                            + e.getMessage());
                }
                if (n < 0) {
                    break;
                }
                out.write(buffer, 0, n);
                copied += n;
            }
            if (copied != entry.getSize()) {
                throw invalid(entry, "is truncated: " + copied + " of " + entry.getSize() + " bytes");
            }
        } catch (IOException e) {
            throw cannotWrite(target, e);
        }
    }

    /** The server's disk, not the archive, failed: most often it is full, so a retry later may pass. */
    private static StatusRuntimeException cannotWrite(Path path, IOException e) {
        return Status.RESOURCE_EXHAUSTED.withDescription("upload directory: cannot write " + path.getFileName() + ": "
                + e.getMessage()).asRuntimeException();
    }

    /** Accepts regular files and folders only; everything else is named and refused. */
    private static void checkType(TarArchiveEntry entry) {
        String kind;
        if (entry.isSymbolicLink()) {
            kind = "is a symbolic link (to '" + entry.getLinkName() + "')";
        } else if (entry.isLink()) {
            kind = "is a hard link (to '" + entry.getLinkName() + "')";
        } else if (entry.isCharacterDevice() || entry.isBlockDevice()) {
            kind = "is a device";
        } else if (entry.isFIFO()) {
            kind = "is a FIFO";
        } else if (entry.isSparse()) {
            kind = "is a sparse file";
        } else {
            byte flag = entry.getLinkFlag();
            if (flag == TarConstants.LF_NORMAL || flag == TarConstants.LF_OLDNORM || flag == TarConstants.LF_DIR) {
                return;
            }
            kind = "has tar type '" + (char) flag + "'";
        }
        throw invalid(entry, kind + "; only regular files and folders are accepted");
    }

    /** Where an entry goes under {@code root}, or null for the top folder itself; refuses escapes by name. */
    private static Path target(Path root, TarArchiveEntry entry) {
        String name = entry.getName();
        if (name.indexOf('\0') >= 0 || name.indexOf('\\') >= 0) {
            throw invalid(entry, "has a NUL or backslash in its name");
        }
        if (name.startsWith("/") || name.matches("^[A-Za-z]:.*")) {
            throw invalid(entry, "is an absolute path");
        }
        List<String> parts = new ArrayList<>();
        for (String part : name.split("/")) {
            if (part.equals("..")) {
                throw invalid(entry, "climbs out with '..'");
            }
            if (!part.isEmpty() && !part.equals(".")) {
                parts.add(part);
            }
        }
        if (parts.isEmpty()) {
            if (entry.getLinkFlag() == TarConstants.LF_DIR) {
                return null;
            }
            throw invalid(entry, "has no file name");
        }
        Path target = root.resolve(String.join("/", parts)).normalize();
        if (!target.startsWith(root) || target.equals(root)) {
            throw invalid(entry, "leads outside the adapter folder");
        }
        return target;
    }

    /** {@code root} if it holds the adapter's marker file; else its only subfolder, if that is all there is. */
    private static Path adapterFolder(Path root) {
        for (String marker : MARKERS) {
            if (Files.isRegularFile(root.resolve(marker))) {
                return root;
            }
        }
        try (Stream<Path> children = Files.list(root)) {
            List<Path> all = children.toList();
            if (all.size() == 1 && Files.isDirectory(all.getFirst())) {
                return all.getFirst();
            }
        } catch (IOException e) {
            throw invalid("archive: cannot list the extracted folder: " + e.getMessage());
        }
        return root; // loading names what is missing
    }

    private static StatusRuntimeException invalid(TarArchiveEntry entry, String why) {
        return invalid("archive entry '" + entry.getName() + "' " + why);
    }

    private static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}

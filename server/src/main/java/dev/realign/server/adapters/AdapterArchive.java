package dev.realign.server.adapters;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
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
 * (INVALID_ARGUMENT), as is an archive with too many entries, whose entries declare more bytes than the
 * upload may hold, or whose long-name or PAX metadata would take more than 64 KiB of memory to parse. Files are created new (never opened through an existing path), so nothing the archive
 * says can write outside the folder. Commons Compress parses the format (ustar, GNU long names, PAX).
 *
 * <p>The archive may hold the adapter's files at its top ({@code tar -C adapter -cf a.tar .}) or inside one
 * folder ({@code tar -cf a.tar adapter}); {@link #extract} returns the folder that holds them.
 */
public final class AdapterArchive {
    private static final String[] MARKERS = {"adapter_config.json", "config.json"};
    /** Long names and PAX records are read into memory by the parser: more than this is refused first. */
    static final int MAX_METADATA_BYTES = 64 << 10;
    private static final int BLOCK = 512;
    private static final int MAX_NAME_BYTES = 255;
    private static final int MAX_PATH_BYTES = 1024;

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
        checkMetadataSizes(tar);
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

    /**
     * Walks the archive's header blocks before Commons Compress parses it: the parser reads a GNU long name
     * or a PAX extended header whole into memory, so one declaring gigabytes would take the server's heap.
     * Only sizes are checked here; everything else is left to the parser and the checks after it.
     */
    static void checkMetadataSizes(Path tar) {
        try (FileChannel channel = FileChannel.open(tar, StandardOpenOption.READ)) {
            long length = channel.size();
            ByteBuffer block = ByteBuffer.allocate(BLOCK);
            for (long at = 0; at + BLOCK <= length; ) {
                block.clear();
                while (block.hasRemaining() && channel.read(block, at + block.position()) > 0) {
                    // read the whole block
                }
                byte[] header = block.array();
                if (allZero(header)) {
                    return; // end of archive
                }
                long size = sizeField(header);
                if (size < 0) {
                    return; // malformed: the parser names it
                }
                byte type = header[156];
                boolean metadata = type == 'x' || type == 'g' || type == 'X' || type == 'L' || type == 'K';
                if (metadata && size > MAX_METADATA_BYTES) {
                    String name = new String(header, 0, 100, StandardCharsets.UTF_8).replace("\0", "").strip();
                    throw invalid("archive entry '" + name + "' is a " + (type == 'L' || type == 'K' ? "GNU long name"
                            : "PAX extended header") + " of " + size + " bytes; at most " + MAX_METADATA_BYTES
                            + " are accepted");
                }
                long blocks = (size + BLOCK - 1) / BLOCK;
                if (blocks > (length - at) / BLOCK) {
                    return; // truncated: the parser names it
                }
                at += BLOCK + blocks * BLOCK;
            }
        } catch (IOException e) {
            throw invalid("archive cannot be read: " + e.getMessage());
        }
    }

    /** The size field (offset 124, 12 bytes): octal ASCII, or base-256 when its first byte has the high bit. */
    private static long sizeField(byte[] header) {
        if ((header[124] & 0x80) != 0) {
            long value = 0;
            for (int i = 125; i < 136; i++) {
                if ((value >>> 55) != 0) {
                    return -1;
                }
                value = (value << 8) | (header[i] & 0xff);
            }
            return header[124] == (byte) 0x80 ? value : -1;
        }
        long value = 0;
        boolean digits = false;
        for (int i = 124; i < 136; i++) {
            int c = header[i];
            if (c >= '0' && c <= '7') {
                value = value * 8 + (c - '0');
                digits = true;
            } else if (c == 0 || c == ' ') {
                if (digits) {
                    break;
                }
            } else {
                return -1;
            }
        }
        return value;
    }

    private static boolean allZero(byte[] block) {
        for (byte b : block) {
            if (b != 0) {
                return false;
            }
        }
        return true;
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
        if (name.getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
            throw invalid(entry, "has a path longer than " + MAX_PATH_BYTES + " bytes");
        }
        List<String> parts = new ArrayList<>();
        for (String part : name.split("/")) {
            if (part.equals("..")) {
                throw invalid(entry, "climbs out with '..'");
            }
            if (part.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
                // The file system would refuse it with an error that looks like the server's fault.
                throw invalid(entry, "has a name part longer than " + MAX_NAME_BYTES + " bytes");
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

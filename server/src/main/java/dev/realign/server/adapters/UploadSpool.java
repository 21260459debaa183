package dev.realign.server.adapters;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One upload on its way to disk: the archive's bytes are appended to a file in the upload's own work folder
 * (never held in memory) while their SHA-256 and count are kept; {@link #finish} checks both against the
 * header and extracts the archive beside it. {@link #discard} removes the work folder and everything in it.
 *
 * <p>Status codes, and why:
 * <ul>
 *   <li>{@code header.total_bytes} over the server's limit: RESOURCE_EXHAUSTED, as gRPC itself answers a
 *       message over its size limit: the server's configured capacity, not the request's form, is what
 *       stands in the way (another server, or this one with a larger {@code --max-upload-mib}, accepts it).</li>
 *   <li>More or fewer bytes than {@code header.total_bytes}: INVALID_ARGUMENT, the stream contradicts its own
 *       header, and sending it again unchanged fails again.</li>
 *   <li>A digest other than {@code header.sha256}: INVALID_ARGUMENT rather than DATA_LOSS. gRPC reserves
 *       DATA_LOSS for unrecoverable loss or corruption of stored data; here nothing the server holds was
 *       lost, and HTTP/2 over TCP (or TLS) does not garble bytes silently, so a mismatch almost always means
 *       the client hashed something other than what it sent. It names both digests.</li>
 * </ul>
 */
public final class UploadSpool {
    private static final Logger log = LoggerFactory.getLogger(UploadSpool.class);
    static final String ARCHIVE = "archive.tar";
    static final String EXTRACTED = "adapter";

    private final Path work;
    private final Path archive;
    private final FileChannel channel;
    private final MessageDigest digest;
    private final long declared;
    private final String expectedSha256;
    private final UploadOptions options;
    private final Runnable onEnded;
    private final AtomicBoolean ended = new AtomicBoolean();
    private long received;

    private UploadSpool(Path work, FileChannel channel, long declared, String expectedSha256, UploadOptions options,
                        Runnable onEnded) {
        this.work = work;
        this.archive = work.resolve(ARCHIVE);
        this.channel = channel;
        this.digest = sha256();
        this.declared = declared;
        this.expectedSha256 = expectedSha256.toLowerCase(Locale.ROOT);
        this.options = options;
        this.onEnded = onEnded;
    }

    /** The header's size and digest, checked before anything is written. */
    static void checkHeader(long declaredBytes, String sha256Hex, UploadOptions options) {
        if (declaredBytes <= 0) {
            throw invalid("header.total_bytes must be the archive's size in bytes (> 0), got "
                    + Long.toUnsignedString(declaredBytes));
        }
        if (declaredBytes > options.maxBytes()) {
            throw Status.RESOURCE_EXHAUSTED.withDescription("header.total_bytes " + declaredBytes + " exceeds the "
                    + "server's upload limit of " + options.maxBytes() + " bytes (serve --max-upload-mib "
                    + (options.maxBytes() >> 20) + ")").asRuntimeException();
        }
        if (sha256Hex.length() != 64 || !sha256Hex.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            throw invalid("header.sha256 must be the archive's SHA-256 as 64 hex digits, got '"
                    + (sha256Hex.length() > 80 ? sha256Hex.substring(0, 80) + "..." : sha256Hex) + "'");
        }
    }

    /** Opens the archive file in a fresh work folder (removed again if that fails). */
    static UploadSpool start(Path work, long declaredBytes, String sha256Hex, UploadOptions options, Runnable onEnded) {
        try {
            FileChannel channel = FileChannel.open(work.resolve(ARCHIVE), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
            return new UploadSpool(work, channel, declaredBytes, sha256Hex, options, onEnded);
        } catch (IOException e) {
            deleteTree(work);
            throw Status.RESOURCE_EXHAUSTED.withDescription("upload directory: cannot create the archive file: "
                    + e.getMessage()).asRuntimeException();
        }
    }

    /** This upload's own folder; everything it writes is inside. */
    public Path work() {
        return work;
    }

    public long received() {
        return received;
    }

    /** Appends the next chunk; refused as soon as the running total passes header.total_bytes. */
    public void append(ByteBuffer data) {
        int n = data.remaining();
        if (n > declared - received) {
            throw invalid("header.total_bytes is " + declared + " but more bytes arrived (" + (received + n)
                    + " so far)");
        }
        digest.update(data.duplicate());
        try {
            while (data.hasRemaining()) {
                channel.write(data);
            }
        } catch (IOException e) {
            // Almost always a full disk or quota: the server's resource, and a retry later may pass.
            throw Status.RESOURCE_EXHAUSTED.withDescription("upload directory: cannot write the archive after "
                    + received + " bytes: " + e.getMessage()).asRuntimeException();
        }
        received += n;
    }

    /**
     * Ends the stream: the byte count and digest must match the header, then the archive is extracted
     * ({@link AdapterArchive}) and deleted. Returns the extracted adapter folder, inside {@link #work()}.
     */
    public Path finish() {
        try {
            return checkAndExtract();
        } finally {
            end(); // the upload is over, whatever the outcome; a kept folder is the adapter's from here
        }
    }

    private Path checkAndExtract() {
        closeChannel();
        if (received != declared) {
            throw invalid("header.total_bytes is " + declared + " but the stream ended after " + received + " bytes");
        }
        String actual = HexFormat.of().formatHex(digest.digest());
        if (!actual.equals(expectedSha256)) {
            throw invalid("header.sha256 is " + expectedSha256 + " but the " + received
                    + " bytes received hash to " + actual);
        }
        Path into = work.resolve(EXTRACTED);
        try {
            Files.createDirectory(into);
        } catch (IOException e) {
            throw Status.RESOURCE_EXHAUSTED.withDescription("upload directory: cannot create the adapter folder: "
                    + e.getMessage()).asRuntimeException();
        }
        Path folder = AdapterArchive.extract(archive, into, options.maxBytes(), options.maxEntries());
        try {
            Files.delete(archive); // the extracted copy is what a version keeps
        } catch (IOException e) {
            log.warn("cannot delete {}: {}", archive, e.toString());
        }
        return folder;
    }

    /** Removes everything this upload wrote. Safe to call more than once. */
    public void discard() {
        closeChannel();
        deleteTree(work);
        end();
    }

    private void end() {
        if (ended.compareAndSet(false, true)) {
            onEnded.run();
        }
    }

    private void closeChannel() {
        try {
            channel.close();
        } catch (IOException e) {
            log.warn("closing {} failed: {}", archive, e.toString());
        }
    }

    /** Deletes a folder tree, depth first; what cannot be deleted is logged, never thrown. */
    public static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    log.warn("cannot delete {}: {}", p, e.toString());
                }
            });
        } catch (IOException e) {
            log.warn("cannot walk {} to delete it: {}", root, e.toString());
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }

    private static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}

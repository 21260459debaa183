package dev.realign.server.adapters;

import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The folders clients may load adapters from. A requested path is resolved against the roots and
 * accepted only if its real path (symlinks followed) stays inside one of them: no "..", no absolute
 * escapes, no symlink out.
 */
public final class AdapterRoots {
    private final List<Path> roots;
    private final String setting;

    /** Roots given by {@code --adapter-root}. */
    public AdapterRoots(List<Path> roots) {
        this(roots, "--adapter-root");
    }

    /** @param setting where the roots are configured, named in errors (an option or a config field) */
    public AdapterRoots(List<Path> roots, String setting) {
        this.setting = setting;
        List<Path> real = new ArrayList<>();
        for (Path root : roots) {
            try {
                real.add(root.toRealPath());
            } catch (IOException e) {
                throw new IllegalArgumentException(setting + " " + root + " does not exist", e);
            }
        }
        this.roots = List.copyOf(real);
    }

    public static AdapterRoots none() {
        return new AdapterRoots(List.of());
    }

    /** The real folder a client's path names; PERMISSION_DENIED outside the roots, NOT_FOUND if absent. */
    public Path resolve(String requested) {
        Path real = resolveReal(requested);
        if (!Files.isDirectory(real)) {
            throw Status.INVALID_ARGUMENT.withDescription("path '" + requested + "' is not a folder")
                    .asRuntimeException();
        }
        return real;
    }

    /** The real file a client's path names (a prompt set); the same rules as {@link #resolve}. */
    public Path resolveFile(String requested) {
        Path real = resolveReal(requested);
        if (!Files.isRegularFile(real)) {
            throw Status.INVALID_ARGUMENT.withDescription("path '" + requested + "' is not a file")
                    .asRuntimeException();
        }
        return real;
    }

    private Path resolveReal(String requested) {
        if (roots.isEmpty()) {
            throw Status.PERMISSION_DENIED.withDescription("path: no adapter roots are configured (" + setting
                    + " is empty)").asRuntimeException();
        }
        Path asked = Path.of(requested);
        for (Path root : roots) {
            Path candidate = asked.isAbsolute() ? asked : root.resolve(asked);
            Path real;
            try {
                real = candidate.toRealPath();
            } catch (IOException e) {
                continue;
            }
            if (real.startsWith(root)) {
                return real;
            }
            throw Status.PERMISSION_DENIED.withDescription("path '" + requested
                    + "' leads outside the adapter roots").asRuntimeException();
        }
        throw Status.NOT_FOUND.withDescription("path '" + requested + "' does not exist under the adapter roots")
                .asRuntimeException();
    }
}

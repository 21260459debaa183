package dev.realign.server.adapters;

import dev.realign.merge.Adapters;
import dev.realign.merge.DeltaSource;
import dev.realign.model.LoadedModel;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The adapters loaded for one base model, by name. Loading a name that exists replaces it atomically (hot
 * swap): new requests get the new version at once; requests already running keep the version their profile
 * was built from until they finish. Versions stay findable by content hash while anything uses them.
 */
public final class AdapterRegistry implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdapterRegistry.class);

    private final LoadedModel base;
    private final Map<String, AdapterVersion> current = new ConcurrentHashMap<>();
    private final Map<String, AdapterVersion> live = new ConcurrentHashMap<>(); // "name@hash" -> version
    private volatile Consumer<AdapterVersion> onRetired = version -> { };

    public AdapterRegistry(LoadedModel base) {
        this.base = base;
    }

    /** Told when a version stops being current (hot swap or unload), so caches can let go of it. */
    public void onRetired(Consumer<AdapterVersion> listener) {
        this.onRetired = listener;
    }

    /**
     * Loads an adapter folder (PEFT LoRA or a full fine-tune of this base) under {@code name}, replacing any
     * version of that name. Errors name the file and tensor (INVALID_ARGUMENT) and leave the old version serving.
     */
    public AdapterVersion load(String name, Path dir) {
        return load(name, dir, () -> { });
    }

    /**
     * {@link #load(String, Path)}, and once the loaded version's memory is freed (after a swap or unload and
     * the last request on it), {@code onFreed} runs: an uploaded folder is deleted then, not before, since
     * checkpoints stay memory-mapped. If loading fails, {@code onFreed} never runs; the caller cleans up.
     */
    public AdapterVersion load(String name, Path dir, Runnable onFreed) {
        if (name.isBlank()) {
            throw Status.INVALID_ARGUMENT.withDescription("adapter name must not be empty").asRuntimeException();
        }
        DeltaSource source;
        try {
            source = Adapters.load(name, dir, base);
        } catch (RuntimeException e) {
            throw Status.INVALID_ARGUMENT.withDescription("adapter '" + name + "' from " + dir + ": " + e.getMessage())
                    .withCause(e).asRuntimeException();
        }
        synchronized (this) {
            AdapterVersion previous = current.get(name);
            int number = previous == null ? 1 : previous.version() + 1;
            String liveKey = name + "@" + source.contentHash();
            AdapterVersion version = new AdapterVersion(name, source, number, Instant.now(),
                    freed -> {
                        live.remove(liveKey, freed);
                        onFreed.run();
                    });
            live.compute(liveKey, (k, old) -> version);
            current.put(name, version);
            log.info("loaded {} from {} ({} targets, {} KiB resident){}", version, dir, source.targets().size(),
                    source.sizeBytes() >> 10, previous == null ? "" : ", replacing v" + previous.version());
            if (previous != null) {
                onRetired.accept(previous);
                previous.close();
            }
            return version;
        }
    }

    /** Removes the name; running requests keep the version until they finish. */
    public synchronized boolean unload(String name) {
        AdapterVersion removed = current.remove(name);
        if (removed == null) {
            return false;
        }
        log.info("unloaded {}", removed);
        onRetired.accept(removed);
        removed.close();
        return true;
    }

    public Optional<AdapterVersion> get(String name) {
        return Optional.ofNullable(current.get(name));
    }

    public List<AdapterVersion> list() {
        List<AdapterVersion> all = new ArrayList<>(current.values());
        all.sort(Comparator.comparing(AdapterVersion::name));
        return all;
    }

    /**
     * A new reference to the version of {@code name} whose content has {@code hash}, if it is still alive
     * (the current one, or an older one some profile still uses). The caller closes it.
     */
    public Optional<AdapterVersion> retain(String name, String hash) {
        AdapterVersion version = live.get(name + "@" + hash);
        return version != null && version.retain() ? Optional.of(version) : Optional.empty();
    }

    @Override
    public synchronized void close() {
        for (AdapterVersion version : current.values()) {
            version.close();
        }
        current.clear();
    }
}

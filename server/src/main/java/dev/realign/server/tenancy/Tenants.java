package dev.realign.server.tenancy;

import dev.realign.server.adapters.AdapterRoots;
import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tenants a server knows right now: the current configuration (replaced whole on reload, so a call
 * sees one consistent snapshot), API key lookup, and per-tenant concurrency slots. Slots are counted by
 * tenant name outside the snapshot, so a reload neither resets nor leaks requests in flight.
 */
public final class Tenants implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Tenants.class);

    private record Snapshot(TenantConfig config, Map<String, Tenant> byKeyHash) {
        static Snapshot of(TenantConfig config) {
            Map<String, Tenant> byKey = new HashMap<>();
            for (Tenant t : config.tenants()) {
                t.keyHashes().forEach(hash -> byKey.put(hash, t));
            }
            return new Snapshot(config, Map.copyOf(byKey));
        }
    }

    private final Path file; // null in development mode
    private final Tenant development;
    private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    private volatile Snapshot snapshot;
    private volatile byte[] lastSeen; // bytes of the file last tried, good or bad: a bad file is reported once
    private Thread watcher;

    private Tenants(Path file, Tenant development, Snapshot snapshot, byte[] seen) {
        this.file = file;
        this.development = development;
        this.snapshot = snapshot;
        this.lastSeen = seen;
    }

    /** No configuration: every call is the open development tenant, with the given roots. */
    public static Tenants development(AdapterRoots roots) {
        return new Tenants(null, Tenant.development(roots), null, null);
    }

    /** Loads the file; a broken file here is fatal (IllegalArgumentException naming the field). */
    public static Tenants load(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        TenantConfig config = TenantConfig.parse(new String(bytes, StandardCharsets.UTF_8),
                file.toAbsolutePath().getParent());
        return new Tenants(file, null, Snapshot.of(config), bytes);
    }

    public boolean isOpen() {
        return file == null;
    }

    /** The current configuration (empty in development mode). */
    public Optional<TenantConfig> config() {
        Snapshot s = snapshot;
        return s == null ? Optional.empty() : Optional.of(s.config());
    }

    /** The tenant a key belongs to (compared by hash), or the development tenant when open. */
    public Optional<Tenant> authenticate(String apiKey) {
        if (isOpen()) {
            return Optional.of(development);
        }
        return apiKey == null ? Optional.empty() : Optional.ofNullable(snapshot.byKeyHash().get(sha256Hex(apiKey)));
    }

    /** The tenant called {@code name} in the current configuration. */
    public Optional<Tenant> byName(String name) {
        if (isOpen()) {
            return name.equals(development.name()) ? Optional.of(development) : Optional.empty();
        }
        return snapshot.config().tenants().stream().filter(t -> t.name().equals(name)).findFirst();
    }

    /**
     * Takes one of the tenant's concurrent-request slots. Over the limit is RESOURCE_EXHAUSTED: a quota
     * that frees up as the tenant's own requests finish, so retrying later is right (gRPC's meaning of the
     * code), unlike PERMISSION_DENIED, which no retry fixes.
     */
    public Slot admit(Tenant tenant) {
        AtomicInteger count = inFlight.computeIfAbsent(tenant.name(), n -> new AtomicInteger());
        int limit = tenant.policy().maxConcurrentRequests();
        int now = count.incrementAndGet();
        if (limit > 0 && now > limit) {
            count.decrementAndGet();
            throw Status.RESOURCE_EXHAUSTED.withDescription("policy max_concurrent_requests: tenant '" + tenant.name()
                    + "' has its limit of " + limit + " requests in flight; retry when one finishes")
                    .asRuntimeException();
        }
        return new Slot(count);
    }

    /** Requests of a tenant running or queued now. */
    public int inFlight(String tenant) {
        AtomicInteger count = inFlight.get(tenant);
        return count == null ? 0 : count.get();
    }

    /** One held slot; closing it more than once is harmless, since several paths may end a request. */
    public static final class Slot implements AutoCloseable {
        private final AtomicInteger count;
        private final AtomicBoolean closed = new AtomicBoolean();

        private Slot(AtomicInteger count) {
            this.count = count;
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                count.decrementAndGet();
            }
        }
    }

    /**
     * Re-reads the file if its bytes changed. A file that does not parse is logged and the old configuration
     * stays: a typo in production must not lock every tenant out. Returns whether a new configuration took over.
     */
    public synchronized boolean reload() {
        if (isOpen()) {
            return false;
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return false; // mid-replace by an editor or a ConfigMap swap; the next poll sees the new file
        } catch (IOException e) {
            log.warn("cannot read tenants configuration {}: {}; keeping the current one", file, e.toString());
            return false;
        }
        if (Arrays.equals(bytes, lastSeen)) {
            return false;
        }
        lastSeen = bytes;
        try {
            TenantConfig config = TenantConfig.parse(new String(bytes, StandardCharsets.UTF_8),
                    file.toAbsolutePath().getParent());
            snapshot = Snapshot.of(config);
            log.info("reloaded tenants configuration {}: {} tenants", file, config.tenants().size());
            return true;
        } catch (RuntimeException e) {
            log.error("tenants configuration {} is invalid, keeping the previous one: {}", file, e.getMessage());
            return false;
        }
    }

    /**
     * Polls the file every {@code interval}. Polling the content (a few hundred bytes) rather than a
     * WatchService also catches replacements by rename or symlink swap (Kubernetes ConfigMaps), which
     * directory watches on the file's own folder can miss.
     */
    public synchronized void watch(Duration interval) {
        if (isOpen() || watcher != null) {
            return;
        }
        watcher = Thread.ofPlatform().name("tenants-config-watch").daemon(true).start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(interval);
                } catch (InterruptedException e) {
                    return;
                }
                reload();
            }
        });
    }

    @Override
    public synchronized void close() {
        if (watcher != null) {
            watcher.interrupt();
            watcher = null;
        }
    }

    static String sha256Hex(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}

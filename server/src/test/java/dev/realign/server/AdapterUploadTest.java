package dev.realign.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.realign.api.v1.AdapterInfo;
import dev.realign.api.v1.AdapterKind;
import dev.realign.api.v1.AdapterWeight;
import dev.realign.api.v1.AdaptersGrpc;
import dev.realign.api.v1.GenerateRequest;
import dev.realign.api.v1.GenerateResponse;
import dev.realign.api.v1.InferenceGrpc;
import dev.realign.api.v1.ListAdaptersRequest;
import dev.realign.api.v1.LoadAdapterRequest;
import dev.realign.api.v1.MergeProfile;
import dev.realign.api.v1.SamplingParams;
import dev.realign.api.v1.UnloadAdapterRequest;
import dev.realign.api.v1.UploadAdapterChunk;
import dev.realign.api.v1.UploadHeader;
import dev.realign.client.AdapterTar;
import dev.realign.merge.RandomLora;
import dev.realign.model.ComputeType;
import dev.realign.model.LoadedModel;
import dev.realign.model.synthetic.Architecture;
import dev.realign.server.adapters.AdapterRoots;
import dev.realign.server.adapters.UploadOptions;
import dev.realign.server.metrics.MonitoringOptions;
import dev.realign.server.models.ModelRegistry;
import dev.realign.server.models.ServingLimits;
import dev.realign.server.tenancy.Tenants;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code Adapters.Upload} on an in-process server: the happy path serves exactly what Load serves, and every
 * bad stream or archive is refused with a status naming the field or entry, leaving no file and no adapter.
 */
class AdapterUploadTest {
    static final long LIMIT = 2 << 20;
    static final int MAX_ENTRIES = 8;

    @TempDir
    static Path dir;
    static Path root;
    static Path uploads;
    static RealignServer server;
    static ManagedChannel channel;
    static AdaptersGrpc.AdaptersBlockingStub adapters;

    @BeforeAll
    static void start() throws Exception {
        Path model = TestServer.writeModel(dir.resolve("model"), Architecture.QWEN2);
        root = Files.createDirectories(dir.resolve("root"));
        uploads = dir.resolve("uploads");
        ModelRegistry models = new ModelRegistry();
        LoadedModel loaded = LoadedModel.load("tiny", model, ai.djl.Device.cpu(), ComputeType.AUTO);
        models.add(loaded, ServingLimits.DEFAULTS);
        RandomLora.write(root.resolve("a"), loaded.weights(), RandomLora.ALL_PROJECTIONS, 4, 8, 0.3, 1);
        RandomLora.write(root.resolve("b"), loaded.weights(), List.of("self_attn.q_proj"), 2, 2, 0.3, 2);
        String name = InProcessServerBuilder.generateName();
        server = new RealignServer(InProcessServerBuilder.forName(name).directExecutor(), models,
                Tenants.development(new AdapterRoots(List.of(root))), MonitoringOptions.LOG_ONLY,
                new UploadOptions(uploads, LIMIT, MAX_ENTRIES)).start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        adapters = AdaptersGrpc.newBlockingStub(channel);
    }

    /**
     * Every test unloads what it uploaded; a freed version's folder is deleted when its last reader lets go, which may
     * be just after the test returns. Waiting here keeps the next test's "before" snapshot from holding a folder that
     * is about to go (and checks that nothing an upload spooled outlives its test).
     */
    @AfterEach
    void uploadedFoldersAreGone() throws InterruptedException {
        awaitTrue(() -> workFolders().isEmpty());
    }

    @AfterAll
    static void stop() {
        channel.shutdownNow();
        server.shutdown(Duration.ofSeconds(5));
    }

    // ---- the happy path ----

    @Test
    void anUploadedLoraServesTheSameGreedyTokensAsTheSameFolderLoadedByPath() throws Exception {
        Set<Path> before = workFolders();
        AdapterInfo byPath = adapters.load(LoadAdapterRequest.newBuilder().setName("by-path").setPath("a").build());
        byte[] archive = tar(root.resolve("a"));
        AdapterInfo uploaded = upload(chunks(header("uploaded", archive).setKind(AdapterKind.LORA), archive, 1000));

        assertThat(uploaded.getName()).isEqualTo("uploaded");
        assertThat(uploaded.getKind()).isEqualTo(AdapterKind.LORA);
        assertThat(uploaded.getVersion()).isEqualTo(1);
        assertThat(uploaded.getRank()).isEqualTo(byPath.getRank());
        assertThat(uploaded.getTargetModulesList()).isEqualTo(byPath.getTargetModulesList());
        assertThat(uploaded.getContentHash()).isEqualTo(byPath.getContentHash());
        assertThat(tokens("uploaded")).isEqualTo(tokens("by-path")).hasSize(12);
        Set<Path> live = workFolders();
        assertThat(live).hasSize(before.size() + 1);

        // Uploading the name again is a hot swap; the old version's folder goes once it is freed.
        byte[] other = tar(root.resolve("b"));
        AdapterInfo swapped = upload(chunks(header("uploaded", other), other, 4096));
        assertThat(swapped.getVersion()).isEqualTo(2);
        assertThat(swapped.getContentHash()).isNotEqualTo(uploaded.getContentHash());
        assertThat(swapped.getTargetModulesCount()).isEqualTo(2); // q_proj in 2 layers
        awaitTrue(() -> workFolders().size() == before.size() + 1 && !workFolders().containsAll(live));

        adapters.unload(UnloadAdapterRequest.newBuilder().setName("uploaded").build());
        adapters.unload(UnloadAdapterRequest.newBuilder().setName("by-path").build());
        awaitTrue(() -> workFolders().equals(before));
    }

    @Test
    void filesWrappedInOneTopFolderLoadToo() throws Exception {
        byte[] archive = tarOf(t -> {
            dir(t, "my-adapter/");
            for (String file : List.of("adapter_config.json", "adapter_model.safetensors")) {
                file(t, "my-adapter/" + file, Files.readAllBytes(root.resolve("a").resolve(file)));
            }
        });
        AdapterInfo info = upload(chunks(header("wrapped", archive), archive, 1 << 16));
        assertThat(info.getKind()).isEqualTo(AdapterKind.LORA);
        assertThat(names()).contains("wrapped");
        adapters.unload(UnloadAdapterRequest.newBuilder().setName("wrapped").build());
    }

    /** What the README tells non-Java clients to send: GNU tar's own archive, with its "./" entries. */
    @Test
    void anArchiveMadeByTheTarCommandLoads() throws Exception {
        Path archive = dir.resolve("cli.tar");
        Process tar;
        try {
            tar = new ProcessBuilder("tar", "--format=pax", "-C", root.resolve("a").toString(), "-cf", archive.toString(), ".")
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "no tar command: " + e.getMessage());
            return;
        }
        assertThat(tar.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(tar.exitValue()).as(new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
        byte[] bytes = Files.readAllBytes(archive);
        AdapterInfo info = upload(chunks(header("from-tar", bytes), bytes, 1 << 16));
        assertThat(info.getKind()).isEqualTo(AdapterKind.LORA);
        assertThat(tokens("from-tar")).hasSize(12);
        adapters.unload(UnloadAdapterRequest.newBuilder().setName("from-tar").build());
    }

    // ---- bad streams ----

    static Stream<Arguments> badStreams() throws IOException {
        byte[] archive = tar(root.resolve("a"));
        UploadHeader.Builder ok = header("bad", archive);
        UploadAdapterChunk data = UploadAdapterChunk.newBuilder().setData(ByteString.copyFrom(archive)).build();
        UploadAdapterChunk head = UploadAdapterChunk.newBuilder().setHeader(ok).build();
        byte[] flipped = archive.clone();
        flipped[flipped.length / 2] ^= 1;
        return Stream.of(
                Arguments.of("data before the header", List.of(data, head),
                        Status.Code.INVALID_ARGUMENT, "header: the first message must carry the UploadHeader"),
                Arguments.of("two headers", List.of(head, head, data),
                        Status.Code.INVALID_ARGUMENT, "header: sent twice"),
                Arguments.of("no header at all", List.of(),
                        Status.Code.INVALID_ARGUMENT, "header: the stream ended without an UploadHeader"),
                Arguments.of("an empty message", List.of(head, UploadAdapterChunk.getDefaultInstance()),
                        Status.Code.INVALID_ARGUMENT, "part:"),
                Arguments.of("no name", chunks(ok.clone().setName(""), archive, 4096),
                        Status.Code.INVALID_ARGUMENT, "header.name"),
                Arguments.of("an unknown model", chunks(ok.clone().setModel("nope"), archive, 4096),
                        Status.Code.NOT_FOUND, "model 'nope'"),
                Arguments.of("total_bytes missing", chunks(ok.clone().setTotalBytes(0), archive, 4096),
                        Status.Code.INVALID_ARGUMENT, "header.total_bytes must be"),
                Arguments.of("total_bytes over the limit", chunks(ok.clone().setTotalBytes(LIMIT + 1), archive, 4096),
                        Status.Code.RESOURCE_EXHAUSTED, "header.total_bytes " + (LIMIT + 1) + " exceeds the server's "
                                + "upload limit of " + LIMIT + " bytes"),
                Arguments.of("more bytes than total_bytes", chunks(ok.clone().setTotalBytes(archive.length - 1), archive, 4096),
                        Status.Code.INVALID_ARGUMENT, "header.total_bytes is " + (archive.length - 1)
                                + " but more bytes arrived"),
                Arguments.of("fewer bytes than total_bytes", chunks(ok.clone().setTotalBytes(archive.length + 1), archive, 4096),
                        Status.Code.INVALID_ARGUMENT, "but the stream ended after " + archive.length + " bytes"),
                Arguments.of("a malformed sha256", chunks(ok.clone().setSha256("abc"), archive, 4096),
                        Status.Code.INVALID_ARGUMENT, "header.sha256 must be the archive's SHA-256 as 64 hex digits"),
                Arguments.of("bytes that do not hash to sha256", chunks(ok.clone(), flipped, 4096),
                        Status.Code.INVALID_ARGUMENT, "header.sha256 is " + sha256(archive) + " but the "),
                Arguments.of("the other kind", chunks(ok.clone().setKind(AdapterKind.FULL_DELTA), archive, 4096),
                        Status.Code.INVALID_ARGUMENT, "header.kind is FULL_DELTA but the archive holds a LORA"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badStreams")
    void aBadStreamIsRefusedAndLeavesNothingBehind(String what, List<UploadAdapterChunk> chunks, Status.Code code,
                                                   String message) throws Exception {
        Set<Path> before = workFolders();
        assertRefused(() -> upload(chunks), code, message);
        assertThat(workFolders()).isEqualTo(before);
        assertThat(names()).doesNotContain("bad");
    }

    @Test
    void bytesPastTotalBytesAreRefusedBeforeTheStreamEnds() throws Exception {
        byte[] archive = tar(root.resolve("a"));
        Set<Path> before = workFolders();
        var call = new Call();
        AdaptersGrpc.newStub(channel).upload(call);
        call.requests.onNext(UploadAdapterChunk.newBuilder().setHeader(header("early", archive).setTotalBytes(10)).build());
        call.requests.onNext(UploadAdapterChunk.newBuilder().setData(ByteString.copyFrom(archive, 0, 11)).build());
        // No half-close: the answer comes for the chunk itself.
        assertRefused(call::get, Status.Code.INVALID_ARGUMENT, "header.total_bytes is 10 but more bytes arrived (11");
        call.requests.onCompleted();
        assertThat(workFolders()).isEqualTo(before);
    }

    @Test
    void aClientThatCancelsMidStreamLeavesNothingBehind() throws Exception {
        byte[] archive = tar(root.resolve("a"));
        Set<Path> before = workFolders();
        var call = new Call();
        AdaptersGrpc.newStub(channel).upload(call);
        call.requests.onNext(UploadAdapterChunk.newBuilder().setHeader(header("cancelled", archive)).build());
        call.requests.onNext(UploadAdapterChunk.newBuilder().setData(ByteString.copyFrom(archive, 0, 1000)).build());
        awaitTrue(() -> workFolders().size() == before.size() + 1); // the spool exists
        call.requests.cancel("changed my mind", null);
        assertRefused(call::get, Status.Code.CANCELLED, "");
        awaitTrue(() -> workFolders().equals(before));
        assertThat(names()).doesNotContain("cancelled");
    }

    @Test
    void uploadsPastTheConcurrencyLimitAreRefusedUntilOneEnds() throws Exception {
        byte[] archive = tar(root.resolve("a"));
        Set<Path> before = workFolders();
        List<Call> open = new ArrayList<>();
        for (int i = 0; i < UploadOptions.DEFAULT_MAX_CONCURRENT; i++) {
            var call = new Call();
            AdaptersGrpc.newStub(channel).upload(call);
            call.requests.onNext(UploadAdapterChunk.newBuilder().setHeader(header("slot" + i, archive)).build());
            open.add(call);
        }
        assertRefused(() -> upload(chunks(header("one-more", archive), archive, 4096)), Status.Code.RESOURCE_EXHAUSTED,
                "uploads: 4 are in progress, the server's limit (serve --max-uploads)");
        open.getFirst().requests.cancel("make room", null);
        awaitTrue(() -> workFolders().size() == before.size() + UploadOptions.DEFAULT_MAX_CONCURRENT - 1);
        assertThat(upload(chunks(header("one-more", archive), archive, 4096)).getName()).isEqualTo("one-more");
        for (Call call : open.subList(1, open.size())) {
            call.requests.cancel("done", null);
        }
        adapters.unload(UnloadAdapterRequest.newBuilder().setName("one-more").build());
        awaitTrue(() -> workFolders().equals(before));
    }

    // ---- unsafe or broken archives ----

    interface TarBody {
        void write(TarArchiveOutputStream tar) throws IOException;
    }

    /** The real adapter's files, then {@code extra}: the refusal must come from the extra entry. */
    static byte[] adapterPlus(TarBody extra) throws IOException {
        return tarOf(t -> {
            for (String file : List.of("adapter_config.json", "adapter_model.safetensors")) {
                file(t, file, Files.readAllBytes(root.resolve("a").resolve(file)));
            }
            extra.write(t);
        });
    }

    static Stream<Arguments> badArchives() throws IOException {
        byte[] hello = "hello".getBytes(StandardCharsets.UTF_8);
        return Stream.of(
                Arguments.of("a parent path", adapterPlus(t -> file(t, "../evil.txt", hello)),
                        "archive entry '../evil.txt' climbs out with '..'"),
                Arguments.of("a nested parent path", adapterPlus(t -> file(t, "sub/../../evil.txt", hello)),
                        "archive entry 'sub/../../evil.txt' climbs out with '..'"),
                Arguments.of("an absolute path", adapterPlus(t -> file(t, "/tmp/evil.txt", hello)),
                        "archive entry '/tmp/evil.txt' is an absolute path"),
                Arguments.of("a symbolic link", adapterPlus(t -> special(t, "link", TarConstants.LF_SYMLINK, "/etc/passwd")),
                        "archive entry 'link' is a symbolic link (to '/etc/passwd')"),
                Arguments.of("a hard link", adapterPlus(t -> special(t, "hard", TarConstants.LF_LINK, "/etc/passwd")),
                        "archive entry 'hard' is a hard link (to '/etc/passwd')"),
                Arguments.of("a character device", adapterPlus(t -> special(t, "tty", TarConstants.LF_CHR, "")),
                        "archive entry 'tty' is a device"),
                Arguments.of("a block device", adapterPlus(t -> special(t, "disk", TarConstants.LF_BLK, "")),
                        "archive entry 'disk' is a device"),
                Arguments.of("a fifo", adapterPlus(t -> special(t, "pipe", TarConstants.LF_FIFO, "")),
                        "archive entry 'pipe' is a FIFO"),
                Arguments.of("a file twice", adapterPlus(t -> file(t, "./adapter_config.json", hello)),
                        "archive entry './adapter_config.json' appears twice"),
                Arguments.of("too many entries", adapterPlus(t -> {
                    for (int i = 0; i < MAX_ENTRIES; i++) {
                        file(t, "extra-" + i + ".txt", hello);
                    }
                }), "archive holds more than " + MAX_ENTRIES + " entries (at entry 'extra-6.txt')"),
                Arguments.of("an entry larger than the limit", withDeclaredSize(adapterPlus(t -> file(t, "big.bin", hello)),
                        "big.bin", 077777777777L), "archive entry 'big.bin' declares 8589934591 bytes, past the upload limit"),
                Arguments.of("a name too long for a file system", adapterPlus(t -> file(t, "n".repeat(300), hello)),
                        "has a name part longer than 255 bytes"),
                // The parser would read it whole into memory: refused by size before parsing.
                Arguments.of("a huge PAX header", adapterPlus(t -> file(t, "n".repeat(70_000), hello)),
                        "is a PAX extended header of 70"),
                Arguments.of("no files", tarOf(t -> dir(t, "empty/")), "archive holds no files"),
                Arguments.of("not a tar", "this is not a tar archive, not even close...".repeat(20)
                        .getBytes(StandardCharsets.UTF_8), "archive is not a valid tar"),
                Arguments.of("not an adapter", tarOf(t -> file(t, "readme.txt", hello)),
                        "from the uploaded archive: is neither a PEFT adapter"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badArchives")
    void anUnsafeOrBrokenArchiveIsRefusedNamingTheEntry(String what, byte[] archive, String message) throws Exception {
        Set<Path> before = workFolders();
        assertRefused(() -> upload(chunks(header("bad", archive), archive, 4096)), Status.Code.INVALID_ARGUMENT, message);
        assertThat(workFolders()).isEqualTo(before);
        assertThat(names()).doesNotContain("bad");
        assertThat(dir.resolve("evil.txt")).doesNotExist();
        assertThat(uploads.resolve("evil.txt")).doesNotExist();
    }

    // ---- helpers ----

    /** A client-streaming call the test drives by hand. */
    static final class Call implements ClientResponseObserver<UploadAdapterChunk, AdapterInfo> {
        final CompletableFuture<AdapterInfo> result = new CompletableFuture<>();
        ClientCallStreamObserver<UploadAdapterChunk> requests;

        @Override
        public void beforeStart(ClientCallStreamObserver<UploadAdapterChunk> stream) {
            requests = stream;
        }

        @Override
        public void onNext(AdapterInfo value) {
            result.complete(value);
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
        }

        AdapterInfo get() throws Exception {
            try {
                return result.get(60, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw (Exception) e.getCause();
            }
        }
    }

    static AdapterInfo upload(List<UploadAdapterChunk> chunks) throws Exception {
        var call = new Call();
        AdaptersGrpc.newStub(channel).upload(call);
        for (UploadAdapterChunk chunk : chunks) {
            call.requests.onNext(chunk);
        }
        call.requests.onCompleted();
        return call.get();
    }

    static UploadHeader.Builder header(String name, byte[] archive) {
        return UploadHeader.newBuilder().setName(name).setTotalBytes(archive.length).setSha256(sha256(archive));
    }

    static List<UploadAdapterChunk> chunks(UploadHeader.Builder header, byte[] archive, int size) {
        List<UploadAdapterChunk> out = new ArrayList<>();
        out.add(UploadAdapterChunk.newBuilder().setHeader(header).build());
        for (int at = 0; at < archive.length; at += size) {
            out.add(UploadAdapterChunk.newBuilder()
                    .setData(ByteString.copyFrom(archive, at, Math.min(size, archive.length - at))).build());
        }
        return out;
    }

    /** The archive the Java client would send for this folder. */
    static byte[] tar(Path folder) throws IOException {
        Path file = Files.createTempFile(dir, "client-", ".tar");
        try {
            return Files.readAllBytes(AdapterTar.write(folder, file).file());
        } finally {
            Files.delete(file);
        }
    }

    static byte[] tarOf(TarBody body) throws IOException {
        var bytes = new ByteArrayOutputStream();
        try (var tar = new TarArchiveOutputStream(bytes)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            body.write(tar);
            tar.finish();
        }
        return bytes.toByteArray();
    }

    static void file(TarArchiveOutputStream tar, String name, byte[] content) throws IOException {
        TarArchiveEntry entry = new TarArchiveEntry(name, true);
        entry.setSize(content.length);
        tar.putArchiveEntry(entry);
        tar.write(content);
        tar.closeArchiveEntry();
    }

    static void dir(TarArchiveOutputStream tar, String name) throws IOException {
        tar.putArchiveEntry(new TarArchiveEntry(name, TarConstants.LF_DIR, true));
        tar.closeArchiveEntry();
    }

    static void special(TarArchiveOutputStream tar, String name, byte type, String link) throws IOException {
        TarArchiveEntry entry = new TarArchiveEntry(name, type, true);
        entry.setLinkName(link);
        tar.putArchiveEntry(entry);
        tar.closeArchiveEntry();
    }

    /** Rewrites the size field (octal, offset 124) of the header of {@code name} and fixes its checksum. */
    static byte[] withDeclaredSize(byte[] tar, String name, long size) {
        byte[] out = tar.clone();
        for (int at = 0; at + 512 <= out.length; at += 512) {
            String entry = new String(out, at, 100, StandardCharsets.US_ASCII).replace("\0", "");
            if (entry.equals(name)) {
                byte[] field = String.format("%011o\0", size).getBytes(StandardCharsets.US_ASCII);
                System.arraycopy(field, 0, out, at + 124, 12);
                Arrays.fill(out, at + 148, at + 156, (byte) ' ');
                int sum = 0;
                for (int i = 0; i < 512; i++) {
                    sum += out[at + i] & 0xff;
                }
                byte[] checksum = String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII);
                System.arraycopy(checksum, 0, out, at + 148, 8);
                return out;
            }
        }
        throw new IllegalArgumentException("no entry " + name);
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static Set<Path> workFolders() {
        if (!Files.isDirectory(uploads)) {
            return Set.of();
        }
        try (Stream<Path> children = Files.list(uploads)) {
            return children.collect(Collectors.toSet());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static List<String> names() {
        return adapters.list(ListAdaptersRequest.getDefaultInstance()).getAdaptersList().stream()
                .map(AdapterInfo::getName).toList();
    }

    static List<Integer> tokens(String adapter) {
        List<Integer> ids = new ArrayList<>();
        InferenceGrpc.newBlockingStub(channel).generate(GenerateRequest.newBuilder().setPrompt("Tell me a story")
                        .setSampling(SamplingParams.newBuilder().setMaxTokens(12).setTemperature(0))
                        .setProfile(MergeProfile.newBuilder().addAdapters(
                                AdapterWeight.newBuilder().setName(adapter).setWeight(1)))
                        .build())
                .forEachRemaining((GenerateResponse r) -> ids.addAll(r.getTokenIdsList()));
        return ids;
    }

    interface Check {
        Object run() throws Exception;
    }

    static void assertRefused(Check call, Status.Code code, String message) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(code);
            assertThat(String.valueOf(e.getStatus().getDescription())).contains(message);
        });
    }

    /** Waits for something other threads finish (Caffeine frees evicted profiles on its executor). */
    static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 500 && !condition.getAsBoolean(); i++) {
            Thread.sleep(20);
        }
        assertThat(condition.getAsBoolean()).isTrue();
    }
}

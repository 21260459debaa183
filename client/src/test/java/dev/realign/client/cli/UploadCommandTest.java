package dev.realign.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.realign.api.v1.AdapterKind;
import dev.realign.api.v1.UploadHeader;
import dev.realign.client.FakeRealignServer;
import dev.realign.client.RealignClient;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code realign upload} against a fake server that records what arrives. */
class UploadCommandTest {
    private final FakeRealignServer server = new FakeRealignServer();
    private final ClientConnector inProcess = (target, options) ->
            RealignClient.owning(InProcessChannelBuilder.forName(target).directExecutor().build(), options);

    @TempDir
    Path dir;
    Path adapter;
    byte[] weights;

    @BeforeEach
    void writeAdapter() throws IOException {
        adapter = Files.createDirectories(dir.resolve("adapter"));
        Files.writeString(adapter.resolve("adapter_config.json"), "{\"r\": 4}");
        weights = new byte[(int) (2.5 * (1 << 20))]; // three 1 MiB chunks of archive at least
        new Random(1).nextBytes(weights);
        Files.write(adapter.resolve("adapter_model.safetensors"), weights);
        Files.writeString(adapter.resolve(".DS_Store"), "hidden files stay home");
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private record Run(int exitCode, String out, String err) {
    }

    private Run run(String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        List<String> all = new ArrayList<>(List.of("upload", "--server", server.name()));
        all.addAll(List.of(args));
        int code = ClientMain.run(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), inProcess, Map.of(), all.toArray(String[]::new));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void sendsTheFolderAsATarWithItsSizeAndSha256InChunksAndPrintsWhatLoaded() throws Exception {
        Run run = run("task", adapter.toString(), "--kind", "lora", "--model", "tiny");

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).startsWith("uploaded task v1 to fake: LORA, rank 4, 1 targets");
        UploadHeader header = server.uploadHeaders.getFirst();
        byte[] bytes = server.uploadedBytes.getFirst();
        assertThat(header.getName()).isEqualTo("task");
        assertThat(header.getModel()).isEqualTo("tiny");
        assertThat(header.getKind()).isEqualTo(AdapterKind.LORA);
        assertThat(header.getTotalBytes()).isEqualTo(bytes.length);
        assertThat(header.getSha256()).isEqualTo(HexFormat.of().formatHex(
                MessageDigest.getInstance("SHA-256").digest(bytes)));
        assertThat(server.uploadChunks.getFirst()).isEqualTo(3);

        List<String> names = new ArrayList<>();
        try (var tar = new TarArchiveInputStream(new ByteArrayInputStream(bytes))) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                names.add(entry.getName());
                assertThat(entry.isFile()).isTrue();
                if (entry.getName().equals("adapter_model.safetensors")) {
                    assertThat(tar.readAllBytes()).isEqualTo(weights);
                }
            }
        }
        assertThat(names).containsExactly("adapter_config.json", "adapter_model.safetensors");

        // The same folder gives the same archive, so the same digest.
        assertThat(run("task", adapter.toString()).exitCode()).isZero();
        assertThat(server.uploadHeaders.get(1).getSha256()).isEqualTo(header.getSha256());
    }

    @Test
    void jsonPrintsTheAdapterInfo() {
        Run run = run("task", adapter.toString(), "--json");
        assertThat(run.exitCode()).isZero();
        assertThat(run.out().strip()).startsWith("{\"name\":\"task\"").contains("\"kind\":\"LORA\"");
    }

    @Test
    void aRefusalIsOneLineAndTheRetryableExitCode() {
        Run run = run("too-big", adapter.toString());
        assertThat(run.exitCode()).isEqualTo(3);
        assertThat(run.err().strip()).startsWith("error: RESOURCE_EXHAUSTED: header.total_bytes");
    }

    @Test
    void aMissingFolderOrUnknownKindIsAUsageError() {
        Run missing = run("task", dir.resolve("nope").toString());
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("is not a folder");
        Run kind = run("task", adapter.toString(), "--kind", "qlora");
        assertThat(kind.exitCode()).isEqualTo(2);
        assertThat(kind.err()).contains("--kind must be lora or full-delta");
        assertThat(server.uploadHeaders).isEmpty();
    }
}

package dev.realign.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class MetricsHttpServerTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private static HttpResponse<String> get(int port, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesMetricsAndAHealthThatTurnsUnavailableWhileDraining() throws Exception {
        AtomicBoolean serving = new AtomicBoolean(true);
        try (var server = new MetricsHttpServer(new InetSocketAddress("127.0.0.1", 0),
                () -> "# a scrape\nup 1\n", serving::get)) {
            HttpResponse<String> metrics = get(server.port(), "/metrics");
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).isEqualTo("# a scrape\nup 1\n");
            assertThat(metrics.headers().firstValue("content-type")).contains(ServingMetrics.CONTENT_TYPE);

            assertThat(get(server.port(), "/healthz").statusCode()).isEqualTo(200);
            assertThat(get(server.port(), "/healthz").body()).isEqualTo("ok\n");
            serving.set(false);
            assertThat(get(server.port(), "/healthz").statusCode()).isEqualTo(503);

            assertThat(get(server.port(), "/other").statusCode()).isEqualTo(404);
            var post = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
                    .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(post.statusCode()).isEqualTo(405);
        }
    }
}

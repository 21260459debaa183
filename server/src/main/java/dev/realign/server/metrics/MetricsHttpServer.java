package dev.realign.server.metrics;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /metrics} (Prometheus text) and {@code GET /healthz} on their own port, so that scrapes and
 * load-balancer probes never queue behind gRPC traffic and need no HTTP/2 client. One event-loop thread:
 * a scrape takes well under a millisecond, and this port serves a handful of scrapers, not users.
 */
public final class MetricsHttpServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MetricsHttpServer.class);
    private static final String TEXT = "text/plain; charset=utf-8";

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel channel;

    /**
     * Binds at once.
     *
     * @param scrape  the metrics exposition, produced per request
     * @param serving true while the server takes new requests; false once it drains (healthz then says 503)
     */
    public MetricsHttpServer(InetSocketAddress address, Supplier<String> scrape, BooleanSupplier serving)
            throws IOException {
        Handler handler = new Handler(scrape, serving);
        try {
            channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(16 * 1024), handler);
                        }
                    })
                    .bind(address).sync().channel();
        } catch (Exception e) { // Netty rethrows the bind's BindException undeclared
            group.shutdownGracefully();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IOException("cannot serve metrics on " + address + ": " + e.getMessage(), e);
        }
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully().syncUninterruptibly();
    }

    @ChannelHandler.Sharable
    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final Supplier<String> scrape;
        private final BooleanSupplier serving;

        Handler(Supplier<String> scrape, BooleanSupplier serving) {
            this.scrape = scrape;
            this.serving = serving;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            FullHttpResponse response = respond(request);
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            if (keepAlive) {
                response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
                ctx.writeAndFlush(response);
            } else {
                response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            }
        }

        private FullHttpResponse respond(FullHttpRequest request) {
            if (!request.decoderResult().isSuccess()) {
                return text(request, HttpResponseStatus.BAD_REQUEST, "bad request\n", TEXT);
            }
            if (!request.method().equals(HttpMethod.GET) && !request.method().equals(HttpMethod.HEAD)) {
                FullHttpResponse r = text(request, HttpResponseStatus.METHOD_NOT_ALLOWED, "GET only\n", TEXT);
                r.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
                return r;
            }
            return switch (new QueryStringDecoder(request.uri()).path()) {
                case "/metrics" -> text(request, HttpResponseStatus.OK, scrape.get(), ServingMetrics.CONTENT_TYPE);
                case "/healthz" -> serving.getAsBoolean()
                        ? text(request, HttpResponseStatus.OK, "ok\n", TEXT)
                        : text(request, HttpResponseStatus.SERVICE_UNAVAILABLE, "draining\n", TEXT);
                default -> text(request, HttpResponseStatus.NOT_FOUND, "not found: try /metrics or /healthz\n", TEXT);
            };
        }

        private static FullHttpResponse text(FullHttpRequest request, HttpResponseStatus status, String body,
                                             String contentType) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            // HEAD gets the headers of GET (its length included) and no body.
            boolean head = request.method().equals(HttpMethod.HEAD);
            FullHttpResponse response = new DefaultFullHttpResponse(request.protocolVersion(), status,
                    head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bytes));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
            response.headers().set(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
            return response;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.warn("metrics endpoint: {}", cause.toString());
            ctx.close();
        }
    }
}

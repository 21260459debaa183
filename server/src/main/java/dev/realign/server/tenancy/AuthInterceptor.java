package dev.realign.server.tenancy;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Set;

/**
 * Maps {@code authorization: Bearer KEY} to a tenant and puts it in the call's {@link Context}. Health and
 * reflection stay open (load balancers and grpcurl call them without keys); every other service needs a
 * key, so a service added later is closed unless someone opens it here on purpose.
 */
public final class AuthInterceptor implements ServerInterceptor {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final Set<String> OPEN_SERVICES = Set.of("grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection");
    private static final String BEARER = "bearer ";

    private final Tenants tenants;

    public AuthInterceptor(Tenants tenants) {
        this.tenants = tenants;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        if (OPEN_SERVICES.contains(call.getMethodDescriptor().getServiceName())) {
            return next.startCall(call, headers);
        }
        String header = headers.get(AUTHORIZATION);
        String key = null;
        if (header != null && header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            key = header.substring(BEARER.length()).strip();
        }
        var tenant = tenants.authenticate(key);
        if (tenant.isEmpty()) {
            String why = header == null ? "missing 'authorization: Bearer <key>' metadata"
                    : key == null ? "authorization metadata must be 'Bearer <key>'" : "unknown API key";
            call.close(Status.UNAUTHENTICATED.withDescription(why), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        return Contexts.interceptCall(Context.current().withValue(TenantContext.KEY, tenant.get()), call, headers, next);
    }
}

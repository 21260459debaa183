package dev.realign.server.tenancy;

import io.grpc.Context;
import io.grpc.Status;

/** The tenant of the current call, put in the gRPC {@link Context} by {@link AuthInterceptor}. */
public final class TenantContext {
    static final Context.Key<Tenant> KEY = Context.key("realign-tenant");

    private TenantContext() {}

    /** The calling tenant; UNAUTHENTICATED if the call did not pass the interceptor (never the case when wired). */
    public static Tenant current() {
        Tenant tenant = KEY.get();
        if (tenant == null) {
            throw Status.UNAUTHENTICATED.withDescription("no tenant for this call").asRuntimeException();
        }
        return tenant;
    }
}

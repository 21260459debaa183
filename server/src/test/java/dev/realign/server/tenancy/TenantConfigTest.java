package dev.realign.server.tenancy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.realign.api.v1.MergeMethod;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TenantConfigTest {
    static final String HASH = Tenants.sha256Hex("k");

    @TempDir
    Path dir;

    @Test
    void parsesTenantsWithHashedKeysPresetsAndPolicy() throws Exception {
        Files.createDirectories(dir.resolve("roots/acme"));
        TenantConfig config = TenantConfig.parse("""
                tenants:
                  - name: acme
                    api_keys: [%s]
                    adapter_roots: [roots/acme]
                    presets:
                      mild: {method: ties, adapters: [{name: a, weight: 0.3}, {name: b, weight: 0.2}], params: {density: 0.5, seed: 7}}
                    policy: {max_ratio: {"*": 0.5}, max_concurrent_requests: 2, max_tokens: 64}
                """.formatted(HASH.toUpperCase()), dir);
        Tenant acme = config.tenants().getFirst();
        assertThat(acme.keyHashes()).containsExactly(HASH);
        assertThat(acme.qualify("a")).isEqualTo("acme/a");
        assertThat(acme.presets().get("mild").getMethod()).isEqualTo(MergeMethod.TIES);
        assertThat(acme.presets().get("mild").getDensity()).isEqualTo(0.5);
        assertThat(acme.presets().get("mild").getSeed()).isEqualTo(7);
        assertThat(acme.policy().maxRatioOf("anything")).contains(0.5);
        assertThat(acme.policy().maxConcurrentRequests()).isEqualTo(2);
    }

    @Test
    void errorsNameTheField() {
        assertRejected("tenants: [{name: a, api_keys: [secret]}]", "tenants[0].api_keys[0] is not a SHA-256 hex hash");
        assertRejected("tenants: [{name: a, api_keys: [%s], polcy: {}}]".formatted(HASH), "tenants[0].polcy: unknown field");
        assertRejected("tenants: [{name: a, api_keys: [%s]}, {name: b, api_keys: [%s]}]".formatted(HASH, HASH),
                "tenants[1].api_keys: key hash");
        assertRejected("tenants: [{name: a, api_keys: [%s], adapter_roots: [nope]}]".formatted(HASH),
                "tenants[0].adapter_roots[0]: folder");
        assertRejected("tenants: [{name: a, api_keys: [%s], policy: {allowed_methods: [blend]}}]".formatted(HASH),
                "tenants[0].policy.allowed_methods[0]: unknown merge method 'blend'");
        assertRejected("tenants: [{name: a, api_keys: [%s], policy: {max_ratio: {t: 0.5}}, presets: {p: {adapters: [{name: t, weight: 0.8}]}}}]"
                .formatted(HASH), "tenants[0].presets.p breaks its tenant's policy max_ratio: adapter 't' weight 0.8 exceeds 0.5");
        assertRejected("tenants: [{name: a, api_keys: [%s], presets: {p: {adapters: [{name: t, weight: 1}], params: {lamda: 2}}}}]"
                .formatted(HASH), "tenants[0].presets.p.params.lamda: unknown parameter");
        assertRejected("tenants: [{name: 'a/b', api_keys: [%s]}]".formatted(HASH), "tenants[0].name: 'a/b'");
        assertRejected("tenants: []", "tenants must be a non-empty list");
    }

    @Test
    void lambdaCountsTowardTheRatioBound() {
        Policy policy = new Policy(java.util.Set.of(), java.util.Map.of("t", 0.7), 0, 0);
        assertThat(policy.violation("acme", "task_arithmetic", java.util.Map.of("t", 0.5), 2))
                .hasValueSatisfying(v -> assertThat(v).contains("weight 0.5 x lambda 2.0 = 1.0 exceeds 0.7"));
        assertThat(policy.violation("acme", "task_arithmetic", java.util.Map.of("t", 0.5), 1)).isEmpty();
    }

    @Test
    void concurrentRequestsBeyondTheLimitAreResourceExhaustedUntilASlotFrees() throws Exception {
        Path file = dir.resolve("t.yml");
        Files.writeString(file, "tenants: [{name: a, api_keys: [%s], policy: {max_concurrent_requests: 1}}]".formatted(HASH));
        try (Tenants tenants = Tenants.load(file)) {
            Tenant a = tenants.authenticate("k").orElseThrow();
            assertThat(tenants.authenticate("other")).isEmpty();
            assertThat(tenants.authenticate(null)).isEmpty();
            Tenants.Slot first = tenants.admit(a);
            assertThatThrownBy(() -> tenants.admit(a)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                assertThat(e.getStatus().getDescription()).contains("policy max_concurrent_requests", "'a'");
            });
            first.close();
            first.close(); // a second close must not free a slot it does not hold
            assertThat(tenants.inFlight("a")).isZero();
            tenants.admit(a).close();
        }
    }

    @Test
    void developmentModeIsOneOpenTenantWithUnqualifiedNames() {
        Tenants open = Tenants.development(dev.realign.server.adapters.AdapterRoots.none());
        Tenant t = open.authenticate(null).orElseThrow();
        assertThat(t.name()).isEqualTo(Tenant.DEVELOPMENT);
        assertThat(t.qualify("task")).isEqualTo("task");
        assertThat(open.reload()).isFalse();
    }

    private void assertRejected(String yaml, String message) {
        assertThatThrownBy(() -> TenantConfig.parse(yaml, dir)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }
}

package dev.realign.server.jobs;

import dev.realign.server.adapters.AdapterVersion;

/** Values jobs record in their result's safetensors metadata. */
final class JobMetadata {
    private JobMetadata() {}

    /** An input adapter as the tenant knows it, with the content hash of the version the job read. */
    static String adapter(JobTarget target, AdapterVersion version) {
        return target.tenant().unqualify(version.name()) + "@" + version.source().contentHash();
    }
}

package dev.realign.server.jobs;

import dev.realign.server.models.ModelRegistry;
import dev.realign.server.tenancy.Tenant;

/**
 * What every job kind shares: the served model it realigns against, the caller, the adapter name the result is
 * registered under, and the optional extra output folder.
 *
 * @param outputAdapter the name as the caller gave it
 * @param outputName    the tenant-qualified registry name
 * @param output        the extra output folder, or null
 */
record JobTarget(ModelRegistry.Entry entry, Tenant tenant, String outputAdapter, String outputName, JobOutput output) {
    int layers() {
        return entry.model().config().numLayers();
    }
}

package dev.realign.server.grpc;

import dev.realign.api.v1.MergeProfile;
import dev.realign.merge.ProfileKey;
import dev.realign.server.models.ModelRegistry;

/**
 * Turns a request's {@link MergeProfile} into the canonical key of the weights that serve it, checking
 * adapters, method and parameters (NOT_FOUND / INVALID_ARGUMENT naming the field).
 */
@FunctionalInterface
public interface ProfileResolver {
    ProfileKey resolve(MergeProfile profile, ModelRegistry.Entry model);
}

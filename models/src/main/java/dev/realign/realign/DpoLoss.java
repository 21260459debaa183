package dev.realign.realign;

import ai.djl.ndarray.NDArray;
import dev.realign.model.Scalars;

/**
 * DPO (Rafailov et al. 2023): mean over pairs of -log sigmoid(beta * [(log pi(y_w) - log pi_ref(y_w))
 * - (log pi(y_l) - log pi_ref(y_l))]), with y_w the chosen (safe) and y_l the rejected (compliant) answer.
 */
public final class DpoLoss {
    private DpoLoss() {}

    /**
     * @param policyChosen     (pairs,) log pi(chosen answer), differentiable
     * @param policyRejected   (pairs,) log pi(rejected answer), differentiable
     * @param referenceChosen  (pairs,) log pi_ref(chosen answer), constants
     * @param referenceRejected (pairs,) log pi_ref(rejected answer), constants
     * @return scalar mean loss in the policy arrays' manager
     */
    public static NDArray loss(NDArray policyChosen, NDArray policyRejected, NDArray referenceChosen,
                               NDArray referenceRejected, double beta) {
        NDArray logRatios = policyChosen.sub(referenceChosen).sub(policyRejected.sub(referenceRejected)); // (pairs,)
        NDArray margin = Scalars.mul(logRatios, beta);
        // -log sigmoid(z) = softplus(-z) = max(-z, 0) + log(1 + exp(-|z|)): no overflow for any z
        NDArray x = margin.neg();
        return Scalars.maximum(x, 0).add(Scalars.add(x.abs().neg().exp(), 1).log()).mean();
    }
}

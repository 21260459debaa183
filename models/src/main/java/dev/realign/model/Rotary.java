package dev.realign.model;

/**
 * Rotary position embedding angles in Hugging Face's rotate-half layout: the first and second halves of
 * a head share frequency i. Computed per call for the positions at hand, so no table grows with the
 * context length.
 */
final class Rotary {
    private final double[] inverseFrequencies;   // (headDim / 2)
    private final int headDim;

    Rotary(ModelConfig config) {
        this.headDim = config.headDim();
        this.inverseFrequencies = config.ropeScaling().inverseFrequencies(config.ropeTheta(), headDim);
    }

    /** cos and sin of each position's angles, each (positions.length, headDim) row-major. */
    float[][] cosSin(int[] positions) {
        int half = headDim / 2;
        float[] cos = new float[positions.length * headDim];
        float[] sin = new float[positions.length * headDim];
        for (int p = 0; p < positions.length; p++) {
            for (int i = 0; i < half; i++) {
                double angle = positions[p] * inverseFrequencies[i];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                int row = p * headDim;
                cos[row + i] = c;
                cos[row + i + half] = c;
                sin[row + i] = s;
                sin[row + i + half] = s;
            }
        }
        return new float[][] {cos, sin};
    }
}

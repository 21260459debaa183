package dev.realign.model;

/**
 * How rotary frequencies are rescaled for long contexts. {@code NONE} keeps theta's frequencies,
 * {@code LINEAR} divides them by {@code factor}, {@code LLAMA3} applies Llama 3.1's band-wise rule.
 */
public record RopeScaling(Type type, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositions) {
    public enum Type { NONE, LINEAR, LLAMA3 }

    public static final RopeScaling NONE = new RopeScaling(Type.NONE, 1, 0, 0, 0);

    /**
     * The inverse frequency of each rotary pair, theta^(-2i/d), after scaling.
     *
     * @return (headDim / 2) inverse frequencies
     */
    public double[] inverseFrequencies(double theta, int headDim) {
        double[] inv = new double[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            double freq = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
            inv[i] = switch (type) {
                case NONE -> freq;
                case LINEAR -> freq / factor;
                case LLAMA3 -> llama3(freq);
            };
        }
        return inv;
    }

    // Llama 3.1: wavelengths shorter than original/highFreqFactor keep their frequency, longer than
    // original/lowFreqFactor are divided by factor, and the band between is interpolated smoothly.
    private double llama3(double freq) {
        double lowFreqWavelen = originalMaxPositions / lowFreqFactor;
        double highFreqWavelen = originalMaxPositions / highFreqFactor;
        double wavelen = 2 * Math.PI / freq;
        if (wavelen < highFreqWavelen) {
            return freq;
        }
        if (wavelen > lowFreqWavelen) {
            return freq / factor;
        }
        double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (1 - smooth) * freq / factor + smooth * freq;
    }
}

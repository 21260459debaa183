package dev.realign.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import dev.realign.model.matvec.DecodeLinear;
import java.util.ArrayList;
import java.util.List;

/**
 * The one forward function of the Llama family (Llama 2/3, Mistral, Qwen2, Qwen3), over DJL NDArrays.
 * It holds no weights and no per-sequence state: weights come per call (so merged profiles reuse it) and
 * state lives in each sequence's {@link KvCache}. The same function serves inference and training
 * (without a cache it never writes in place, so autograd can flow through it).
 *
 * <p>Several sequences can share one call: their tokens are stacked for every matrix product and split
 * only for attention, which is per sequence.
 */
public final class LlamaModel {
    private final ModelConfig config;
    private final Rotary rotary;
    private final DataType matrixType;
    private final float attentionScale;
    /** From this many rows on, fp16 matrices are widened to fp32 for the product (see {@link #linear}). */
    static final int WIDEN_FP16_FROM_ROWS = 16;
    /** Additive mask value: exp underflows to exactly 0 as with -inf (Hugging Face uses the dtype's minimum). */
    private static final float MASKED = -1e9f;

    public LlamaModel(ModelConfig config, DataType matrixType) {
        this.config = config;
        this.rotary = new Rotary(config);
        this.matrixType = matrixType;
        this.attentionScale = (float) (1.0 / Math.sqrt(config.headDim()));
    }

    public ModelConfig config() {
        return config;
    }

    /** The type weight matrices are multiplied in (FLOAT32 or FLOAT16). */
    public DataType matrixType() {
        return matrixType;
    }

    /**
     * Runs the chunks through the model, appending to their caches.
     *
     * @param allPositions true: logits for every token (scoring, training); false: only each chunk's last
     * @return fp32 logits, (total tokens, vocab) or (chunks, vocab), attached to {@code scope}
     */
    public NDArray forward(Weights weights, List<SequenceChunk> chunks, NDManager scope, boolean allPositions) {
        boolean grad = weights.requiresGradient();
        NDArray x = embed(weights, chunks, scope); // (total, hidden)
        NDArray[] cosSin = cosSin(chunks, scope);
        for (int layer = 0; layer < config.numLayers(); layer++) {
            x = layer(layer, weights.layer(layer), x, cosSin[0], cosSin[1], chunks, scope, new Pass(null, grad));
        }
        for (SequenceChunk chunk : chunks) {
            if (chunk.cache() != null) {
                chunk.cache().advance(chunk.tokens().length);
            }
        }
        if (!allPositions) {
            x = lastRows(x, chunks);
        }
        return linear(rmsNorm(x, weights.finalNorm()), weights.lmHead(), null, grad); // (rows, vocab)
    }

    /**
     * The residual stream entering layer 0: the chunks' token embeddings, stacked.
     *
     * @return fp32 (total tokens, hidden), attached to {@code scope}
     */
    public NDArray embed(Weights weights, List<SequenceChunk> chunks, NDManager scope) {
        int total = chunks.stream().mapToInt(c -> c.tokens().length).sum();
        int[] ids = new int[total];
        int row = 0;
        for (SequenceChunk chunk : chunks) {
            for (int id : chunk.tokens()) {
                if (id < 0 || id >= config.vocabSize()) {
                    throw new IllegalArgumentException("token id " + id + " outside the vocabulary (0.."
                            + (config.vocabSize() - 1) + ")");
                }
                ids[row++] = id;
            }
        }
        return embedRows(weights.embed(), scope.create(ids));
    }

    /**
     * Runs one decoder layer over the residual stream of whole, cache-free sequences (the chunks of
     * {@link #embed}), telling {@code tap} each projection's input. Layer-by-layer weight edits use this to
     * propagate calibration inputs through the layers already edited without rerunning the layers below.
     *
     * @param hidden (total tokens, hidden) entering {@code layer}
     * @return (total tokens, hidden) leaving it, attached to {@code scope}
     */
    public NDArray runLayer(Weights weights, int layer, NDArray hidden, List<SequenceChunk> chunks, NDManager scope,
                            ProjectionTap tap) {
        for (SequenceChunk chunk : chunks) {
            if (chunk.cache() != null) {
                throw new IllegalArgumentException("runLayer takes whole sequences without a KV cache");
            }
        }
        NDArray[] cosSin = cosSin(chunks, scope);
        return layer(layer, weights.layer(layer), hidden, cosSin[0], cosSin[1], chunks, scope,
                new Pass(tap, weights.requiresGradient()));
    }

    /** RoPE's cos and sin at every row's position, each (total, 1, headDim). */
    private NDArray[] cosSin(List<SequenceChunk> chunks, NDManager scope) {
        int total = chunks.stream().mapToInt(c -> c.tokens().length).sum();
        int[] positions = new int[total];
        int row = 0;
        for (SequenceChunk chunk : chunks) {
            for (int t = 0; t < chunk.tokens().length; t++) {
                positions[row++] = chunk.start() + t;
            }
        }
        float[][] cosSin = rotary.cosSin(positions);
        return new NDArray[] {
                scope.create(cosSin[0], new Shape(total, 1, config.headDim())),
                scope.create(cosSin[1], new Shape(total, 1, config.headDim()))};
    }

    /**
     * What one forward call carries down to every projection.
     *
     * @param tap          told each projection's input, or null
     * @param differentiable whether autograd must see every product: some weight requires a gradient. (DJL's
     *                     {@code hasGradient()} is false on intermediate results, so the operands alone cannot
     *                     tell; without this, short sequences lost the graph in {@link DecodeLinear}.)
     */
    private record Pass(ProjectionTap tap, boolean differentiable) {
        void tap(int layer, ProjectionKind kind, NDArray input) {
            if (tap != null) {
                tap.input(layer, kind, input);
            }
        }
    }

    /** One decoder layer: x + attention(norm(x)), then + mlp(norm(.)). */
    private NDArray layer(int layer, LayerWeights w, NDArray x, NDArray cos, NDArray sin, List<SequenceChunk> chunks,
                          NDManager scope, Pass pass) {
        NDArray h = rmsNorm(x, w.inputNorm());
        NDArray attention = attention(layer, w, h, cos, sin, chunks, scope, pass);
        pass.tap(layer, ProjectionKind.O, attention);
        x = x.add(linear(attention, w.o(), pass));
        NDArray h2 = rmsNorm(x, w.postNorm());
        pass.tap(layer, ProjectionKind.GATE, h2);
        pass.tap(layer, ProjectionKind.UP, h2);
        NDArray gateIn = linear(h2, w.gate(), pass);
        NDArray gate = gateIn.mul(Activation.sigmoid(gateIn)); // SiLU; DJL's swish multiplies by a Number (Scalars)
        NDArray inner = gate.mul(linear(h2, w.up(), pass));
        pass.tap(layer, ProjectionKind.DOWN, inner);
        return x.add(linear(inner, w.down(), pass));
    }

    private NDArray attention(int layer, LayerWeights w, NDArray h, NDArray cos, NDArray sin,
                              List<SequenceChunk> chunks, NDManager scope, Pass pass) {
        int total = Math.toIntExact(h.getShape().get(0));
        pass.tap(layer, ProjectionKind.Q, h);
        pass.tap(layer, ProjectionKind.K, h);
        pass.tap(layer, ProjectionKind.V, h);
        int headDim = config.headDim();
        NDArray q = linear(h, w.q(), pass).reshape(total, config.numHeads(), headDim);
        NDArray k = linear(h, w.k(), pass).reshape(total, config.numKvHeads(), headDim);
        NDArray v = linear(h, w.v(), pass).reshape(total, config.numKvHeads(), headDim);
        if (config.qkNorm()) {
            q = rmsNorm(q, w.qNorm());
            k = rmsNorm(k, w.kNorm());
        }
        q = rotate(q, cos, sin);
        k = rotate(k, cos, sin);
        if (chunks.size() > 1 && decodeOnly(chunks)) {
            return attendDecodeBatch(layer, q, k, v, chunks, scope);
        }

        List<NDArray> outputs = new ArrayList<>(chunks.size());
        int row = 0;
        for (SequenceChunk chunk : chunks) {
            int tokens = chunk.tokens().length;
            NDIndex rows = new NDIndex().addSliceDim(row, row + tokens);
            NDArray qc = q.get(rows);   // (tokens, heads, headDim)
            NDArray kc = k.get(rows);   // (tokens, kvHeads, headDim)
            NDArray vc = v.get(rows);
            NDArray keys;
            NDArray values;
            if (chunk.cache() != null) {
                chunk.cache().write(layer, kc, vc);
                keys = chunk.cache().keys(layer, chunk.end(), scope);      // (kvHeads, end, headDim)
                values = chunk.cache().values(layer, chunk.end(), scope);
            } else {
                keys = kc.transpose(1, 0, 2);                               // (kvHeads, tokens, headDim)
                values = vc.transpose(1, 0, 2);
            }
            outputs.add(attend(qc, keys, values, chunk.start(), scope));
            row += tokens;
        }
        return outputs.size() == 1 ? outputs.getFirst() : NDArrays.concat(new NDList(outputs), 0);
    }

    /**
     * Whether every chunk is one new token on a cache whose capacity reaches the longest chunk's end: the
     * common decode step, which {@link #attendDecodeBatch} runs for all sequences at once.
     */
    private static boolean decodeOnly(List<SequenceChunk> chunks) {
        int longest = 0;
        for (SequenceChunk chunk : chunks) {
            if (chunk.cache() == null || chunk.tokens().length != 1) {
                return false;
            }
            longest = Math.max(longest, chunk.end());
        }
        for (SequenceChunk chunk : chunks) {
            if (chunk.cache().capacity() < longest) {
                return false;
            }
        }
        return true;
    }

    /**
     * Attention of a decode step, one query token per sequence, as a handful of batched ops instead of about
     * fifteen per sequence (at 1-20 us per DJL op, the per-sequence loop cost more than the weights did:
     * docs/benchmarks.md). Each cache is read over [0, longest end) and positions past a sequence's own end
     * are masked; they hold zeros or an unfinished step's finite values, so the mask zeroes them exactly.
     *
     * @param q (batch, heads, headDim), k and v (batch, kvHeads, headDim): one row per chunk
     * @return (batch, heads * headDim)
     */
    private NDArray attendDecodeBatch(int layer, NDArray q, NDArray k, NDArray v, List<SequenceChunk> chunks,
                                      NDManager scope) {
        int batch = chunks.size();
        int longest = chunks.stream().mapToInt(SequenceChunk::end).max().orElseThrow();
        int kvHeads = config.numKvHeads();
        int group = config.groupSize();
        int headDim = config.headDim();
        int window = config.slidingWindow();
        NDList keys = new NDList(batch);
        NDList values = new NDList(batch);
        float[] mask = new float[batch * longest];
        for (int i = 0; i < batch; i++) {
            SequenceChunk chunk = chunks.get(i);
            NDIndex row = new NDIndex().addSliceDim(i, i + 1);
            chunk.cache().write(layer, k.get(row), v.get(row));
            keys.add(chunk.cache().keys(layer, longest, scope));      // (kvHeads, longest, headDim)
            values.add(chunk.cache().values(layer, longest, scope));
            int position = chunk.start();
            for (int j = 0; j < longest; j++) {
                boolean visible = j <= position && (window <= 0 || j > position - window);
                if (!visible) {
                    mask[i * longest + j] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        NDArray allKeys = NDArrays.stack(keys, 0);                     // (batch, kvHeads, longest, headDim)
        NDArray allValues = NDArrays.stack(values, 0);
        NDArray grouped = Scalars.mul(q, attentionScale).reshape(batch, kvHeads, group, headDim);
        NDArray scores = grouped.matMul(allKeys.transpose(0, 1, 3, 2)); // (batch, kvHeads, group, longest)
        scores = scores.add(scope.create(mask, new Shape(batch, 1, 1, longest)));
        NDArray out = scores.softmax(-1).matMul(allValues);            // (batch, kvHeads, group, headDim)
        return out.reshape(batch, (long) kvHeads * group * headDim);
    }

    /**
     * Grouped-query attention of one sequence's new queries over all its keys.
     *
     * @param q    (tokens, heads, headDim) queries at positions start..start+tokens-1
     * @param keys (kvHeads, length, headDim), values likewise
     * @return (tokens, heads * headDim)
     */
    private NDArray attend(NDArray q, NDArray keys, NDArray values, int start, NDManager scope) {
        int tokens = Math.toIntExact(q.getShape().get(0));
        int length = Math.toIntExact(keys.getShape().get(1));
        int kvHeads = config.numKvHeads();
        int group = config.groupSize();
        int headDim = config.headDim();
        // Query head h reads kv head h / group (Hugging Face's repeat_kv): fold the group into the rows.
        NDArray grouped = q.reshape(tokens, kvHeads, group, headDim)
                .transpose(1, 2, 0, 3)
                .reshape(kvHeads, group * tokens, headDim);                  // (kvHeads, group*tokens, headDim)
        NDArray products = grouped.matMul(keys.transpose(0, 2, 1));           // (kvHeads, group*tokens, length)
        NDArray scores = Scalars.mul(products, attentionScale);
        float[] mask = mask(tokens, length, start, group);
        if (mask != null) {
            scores = scores.add(scope.create(mask, new Shape(group * tokens, length)));
        }
        NDArray probabilities = scores.softmax(-1);
        NDArray out = probabilities.matMul(values);                        // (kvHeads, group*tokens, headDim)
        return out.reshape(kvHeads, group, tokens, headDim)
                .transpose(2, 0, 1, 3)
                .reshape(tokens, (long) kvHeads * group * headDim);
    }

    /**
     * Additive mask, (group*tokens, length): query t sits at position start+t and sees keys j with
     * j <= start+t and, under a sliding window, j > start+t-window. Null when nothing is masked (one new
     * token and no window reach), the common decode step.
     */
    private float[] mask(int tokens, int length, int start, int group) {
        int window = config.slidingWindow();
        boolean windowMasks = window > 0 && length > window;
        if (tokens == 1 && !windowMasks) {
            return null;
        }
        float[] mask = new float[group * tokens * length];
        for (int g = 0; g < group; g++) {
            for (int t = 0; t < tokens; t++) {
                int position = start + t;
                int base = (g * tokens + t) * length;
                for (int j = 0; j < length; j++) {
                    boolean visible = j <= position && (window <= 0 || j > position - window);
                    if (!visible) {
                        mask[base + j] = MASKED;
                    }
                }
            }
        }
        return mask;
    }

    /** Hugging Face rotate-half RoPE: x * cos + rotate_half(x) * sin, x (tokens, heads, headDim). */
    private NDArray rotate(NDArray x, NDArray cos, NDArray sin) {
        NDList halves = x.split(2, 2); // (tokens, heads, headDim / 2) each
        NDArray rotated = halves.get(1).neg().concat(halves.get(0), -1);
        return x.mul(cos).add(rotated.mul(sin));
    }

    private NDArray rmsNorm(NDArray x, NDArray weight) {
        NDArray meanSquare = x.square().mean(new int[] {-1}, true);
        return x.div(Scalars.add(meanSquare, config.rmsNormEps()).sqrt()).mul(weight);
    }

    /**
     * A projection with its unmerged LoRA terms: x W^T + b + sum_i c_i (x A_i^T) B_i^T, all fp32 out; c_i is a
     * scalar or, when rows of several profiles share the forward, a (rows, 1) column.
     */
    private NDArray linear(NDArray x, Projection p, Pass pass) {
        NDArray y = linear(x, p.weight(), p.bias(), pass.differentiable());
        for (LoraTerm term : p.lora()) {
            NDArray down = Linear.linear(x, term.a()).singletonOrThrow();        // (rows, rank)
            // Scaled before B: rank columns to multiply, not out. Per-row coefficients, (rows, 1) or (rows, rank)
            // for fused adapters, are zero where a row's profile does not use the adapter.
            down = term.rowCoefficients() == null ? Scalars.mul(down, term.coefficient())
                    : down.mul(term.rowCoefficients());
            NDArray up = Linear.linear(down, term.b()).singletonOrThrow();       // (rows, out)
            // In place when no gradient flows: y is this call's own product, and a new (rows, out) array per
            // term cost more than the term's products (docs/benchmarks.md, "Per-row LoRA").
            y = pass.differentiable() ? y.add(up) : y.addi(up);
        }
        return y;
    }

    /**
     * x W^T + b, x (rows, in), result fp32 (rows, out). Decode-sized inputs on a CPU weight go to our
     * Vector API kernel ({@link DecodeLinear}: libtorch's fp32 matrix-vector product reads only 11-17 GB/s
     * here). Otherwise libtorch: fp16 matrices multiply in fp16 for few rows (reading
     * half the bytes is what decoding needs) but are widened to fp32 once per call for many rows: on this
     * CPU libtorch's fp16 GEMM runs at ~37 GFLOP/s against ~110 for widening plus fp32 GEMM
     * (docs/benchmarks.md).
     */
    private NDArray linear(NDArray x, NDArray weight, NDArray bias, boolean differentiable) {
        // few rows, CPU weight, no gradient
        NDArray decoded = differentiable ? null : DecodeLinear.tryLinear(x, weight, bias);
        if (decoded != null) {
            return decoded;
        }
        long rows = x.getShape().get(0);
        if (matrixType == DataType.FLOAT16 && rows >= WIDEN_FP16_FROM_ROWS) {
            NDManager scope = x.getManager();
            NDArray wide = weight.toType(DataType.FLOAT32, false);
            wide.attach(scope); // the widened copy lives for this step only
            NDArray wideBias = null;
            if (bias != null) {
                wideBias = bias.toType(DataType.FLOAT32, false);
                wideBias.attach(scope);
            }
            return multiply(x, wide, wideBias);
        }
        NDArray in = matrixType == DataType.FLOAT32 ? x : x.toType(matrixType, false);
        NDArray out = multiply(in, weight, bias);
        return out.getDataType() == DataType.FLOAT32 ? out : out.toType(DataType.FLOAT32, false);
    }

    private static NDArray multiply(NDArray x, NDArray weight, NDArray bias) {
        return (bias == null ? Linear.linear(x, weight) : Linear.linear(x, weight, bias)).singletonOrThrow();
    }

    private NDArray embedRows(NDArray table, NDArray ids) {
        NDArray rows = Embedding.embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
        return rows.getDataType() == DataType.FLOAT32 ? rows : rows.toType(DataType.FLOAT32, false);
    }


    private static NDArray lastRows(NDArray x, List<SequenceChunk> chunks) {
        long[] last = new long[chunks.size()];
        int row = 0;
        for (int i = 0; i < chunks.size(); i++) {
            row += chunks.get(i).tokens().length;
            last[i] = row - 1;
        }
        if (chunks.size() == 1) {
            return x.get(new NDIndex("{}:{}", last[0], last[0] + 1));
        }
        NDArray index = x.getManager().create(last);
        return Embedding.embedding(index, x, SparseFormat.DENSE).singletonOrThrow();
    }
}

package dev.realign.model;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.realign.checkpoint.Checkpoints;
import dev.realign.checkpoint.WeightSource;
import dev.realign.generate.TextStream;
import dev.realign.tokenize.ChatTemplate;
import dev.realign.tokenize.IncrementalDetokenizer;
import dev.realign.tokenize.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/**
 * A base model resident in memory: its config, tokenizer, chat template, forward function and weights.
 * It owns the model's native memory (one manager for the model's lifetime) and the checkpoint's memory map,
 * and closes them in that order.
 */
public final class LoadedModel implements AutoCloseable {
    private final String id;
    private final Path directory;
    private final ModelConfig config;
    private final GenerationConfig generationConfig;
    private final Tokenizer tokenizer;
    private final Optional<ChatTemplate> chatTemplate;
    private final NDManager manager;
    private final WeightSource checkpoint;
    private final LlamaModel model;
    private final Weights weights;
    private final Set<Integer> endTokens;

    private LoadedModel(String id, Path directory, ModelConfig config, GenerationConfig generationConfig,
                        Tokenizer tokenizer, Optional<ChatTemplate> chatTemplate, NDManager manager,
                        WeightSource checkpoint, LlamaModel model, Weights weights) {
        this.id = id;
        this.directory = directory;
        this.config = config;
        this.generationConfig = generationConfig;
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.manager = manager;
        this.checkpoint = checkpoint;
        this.model = model;
        this.weights = weights;
        Set<Integer> ends = new LinkedHashSet<>(config.eosTokenIds());
        ends.addAll(generationConfig.eosTokenIds());
        this.endTokens = Set.copyOf(ends);
    }

    /**
     * Loads a Hugging Face model folder (config.json, safetensors, tokenizer.json) onto a device.
     *
     * @param id the name clients use for it
     */
    public static LoadedModel load(String id, Path directory, Device device, ComputeType computeType) {
        if (!Files.isDirectory(directory)) {
            throw new ModelConfigException(directory + ": not a model folder");
        }
        ModelConfig config = ModelConfig.load(directory);
        GenerationConfig generationConfig = GenerationConfig.load(directory);
        WeightSource checkpoint = Checkpoints.openFolder(directory);
        NDManager manager = null;
        Tokenizer tokenizer = null;
        try {
            tokenizer = Tokenizer.load(directory);
            if (tokenizer.vocabSize() > config.vocabSize()) {
                throw new ModelConfigException(directory + ": tokenizer.json has " + tokenizer.vocabSize()
                        + " tokens but config.json's vocab_size is " + config.vocabSize());
            }
            manager = NDManager.newBaseManager(device);
            DataType matrixType = computeType.resolve(WeightLoader.storedType(config, checkpoint));
            Weights weights = WeightLoader.load(config, checkpoint, manager, matrixType);
            return new LoadedModel(id, directory, config, generationConfig, tokenizer,
                    ChatTemplate.load(directory), manager, checkpoint, new LlamaModel(config, matrixType), weights);
        } catch (RuntimeException e) {
            if (manager != null) {
                manager.close();
            }
            if (tokenizer != null) {
                tokenizer.close();
            }
            checkpoint.close();
            throw e;
        }
    }

    public String id() {
        return id;
    }

    public Path directory() {
        return directory;
    }

    public ModelConfig config() {
        return config;
    }

    public GenerationConfig generationConfig() {
        return generationConfig;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public Optional<ChatTemplate> chatTemplate() {
        return chatTemplate;
    }

    public LlamaModel model() {
        return model;
    }

    public Weights weights() {
        return weights;
    }

    /** Token ids that end generation: config.json's and generation_config.json's EOS ids. */
    public Set<Integer> endTokens() {
        return endTokens;
    }

    /**
     * A token's surface text for log-probability listings; empty for padded embedding rows the tokenizer
     * does not know (vocab_size may exceed the tokenizer's vocabulary).
     */
    public String tokenText(int tokenId) {
        return tokenId < tokenizer.vocabSize() ? tokenizer.tokenText(tokenId) : "";
    }

    /** A fresh UTF-8-safe text stream for one sequence's generated tokens. */
    public TextStream newTextStream() {
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer);
        return new TextStream() {
            @Override
            public String push(int tokenId) {
                return detokenizer.next(tokenId);
            }

            @Override
            public String flush() {
                return detokenizer.flush();
            }
        };
    }

    /** The model's manager: per-sequence and per-step managers are its children. */
    public NDManager manager() {
        return manager;
    }

    /** Bytes of the weights as held in memory. */
    public long weightBytes() {
        return weights.tensors().values().stream()
                .mapToLong(t -> t.size() * t.getDataType().getNumOfBytes()).sum();
    }

    @Override
    public void close() {
        manager.close();
        checkpoint.close();
        tokenizer.close();
    }
}

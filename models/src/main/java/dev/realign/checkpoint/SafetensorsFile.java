package dev.realign.checkpoint;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One safetensors file, memory-mapped whole. The header is validated completely before anything is mapped
 * ({@link SafetensorsHeader}). The mapping is a {@link MemorySegment} in a shared arena rather than a
 * MappedByteBuffer because a ByteBuffer cannot address past 2 GiB, and because a shared arena can be
 * unmapped deterministically on {@link #close()} (with later access failing cleanly instead of crashing).
 */
public final class SafetensorsFile implements WeightSource {
    private final Path file;
    private final SequencedMap<String, TensorInfo> tensors;
    private final Map<String, String> metadata;
    private final Arena arena;
    private final MemorySegment mapped;
    private final AtomicBoolean closed = new AtomicBoolean();

    private SafetensorsFile(Path file, SafetensorsHeader header, Arena arena, MemorySegment mapped) {
        this.file = file;
        this.tensors = header.tensors();
        this.metadata = header.metadata();
        this.arena = arena;
        this.mapped = mapped;
    }

    /** Opens and validates {@code file}; a {@link CheckpointException} naming the file (and tensor) if it is bad. */
    public static SafetensorsFile open(Path file) {
        if (Files.isDirectory(file)) {
            throw CheckpointException.inFile(file, "is a folder, not a safetensors file");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            SafetensorsHeader header = SafetensorsHeader.read(file, channel);
            // The mapping outlives the channel (FileChannel.map's contract), so the descriptor is not kept open.
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, header.fileSize(), arena);
            return new SafetensorsFile(file, header, arena, mapped);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new CheckpointException(file + ": no such file", e);
        } catch (IOException e) {
            arena.close();
            throw new CheckpointException(file + ": cannot read: " + e, e);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    @Override
    public Path path() {
        return file;
    }

    @Override
    public Set<String> names() {
        return tensors.sequencedKeySet();
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw CheckpointException.inTensor(file, name, "no such tensor in this file (" + tensors.size() + " tensors)");
        }
        return info;
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public ByteBuffer data(String name) {
        TensorInfo info = info(name);
        if (info.byteSize() > Integer.MAX_VALUE) {
            throw CheckpointException.inTensor(file, name, "is " + info.byteSize()
                    + " bytes, more than a ByteBuffer can hold (2 GiB - 1)");
        }
        ensureOpen();
        // A slice of a read-only mapping gives a read-only direct buffer; ByteBuffers start big-endian.
        return mapped.asSlice(info.begin(), info.byteSize()).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public float[] floats(String name) {
        TensorInfo info = info(name);
        if (!info.dtype().isFloating()) {
            throw CheckpointException.inTensor(file, name, "is " + info.dtype() + ", not a floating type");
        }
        // data() bounds the size below 2 GiB, so the element count fits an int.
        ByteBuffer bytes = data(name);
        return FloatConversions.toFloats(info.dtype(), bytes, (int) info.numel());
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            arena.close();
        }
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException(file + ": closed");
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + file + ", " + tensors.size() + " tensors]";
    }
}

package dev.realign.server.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import dev.realign.model.ComputeType;
import picocli.CommandLine.Option;

/** Where and in which precision the engine runs; shared by every command that loads a model. */
public final class EngineOptions {
    @Option(names = "--device", defaultValue = "cpu", description = "cpu or cuda:N (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--dtype", defaultValue = "auto",
            description = "auto (F32 checkpoints in f32, F16/BF16 in f16), f32 or f16 (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--engine-threads", defaultValue = "0",
            description = "libtorch intra-op threads; 0 = one per core (default: ${DEFAULT-VALUE}). On a machine shared "
                    + "with other work, 1 avoids threads waiting for a descheduled peer at every op (docs/benchmarks.md)")
    int engineThreads;

    /**
     * Sets libtorch's intra-op thread count; call before anything loads the engine (DJL reads the property
     * once, when the PyTorch engine starts).
     */
    public void configureThreads() {
        if (engineThreads < 0) {
            throw new IllegalArgumentException("--engine-threads must be >= 0, got " + engineThreads);
        }
        if (engineThreads > 0) {
            System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(engineThreads));
        }
    }

    /**
     * For the offline tools that train or evaluate the tiny demo model: libtorch at {@code threads} intra-op and
     * one inter-op thread (its ops are small; on a shared machine more threads wait on each other). Call before
     * anything loads the engine.
     */
    static void useThreadsForDemoWork(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("--engine-threads must be >= 1, got " + threads);
        }
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
    }

    public Device device() {
        if (device.equals("cpu")) {
            return Device.cpu();
        }
        if (device.matches("cuda:\\d+")) {
            int index = Integer.parseInt(device.substring(5));
            int gpus = Engine.getEngine("PyTorch").getGpuCount();
            if (index >= gpus) {
                throw new IllegalArgumentException("--device " + device + ": this machine has " + gpus + " GPU(s)");
            }
            return Device.gpu(index);
        }
        throw new IllegalArgumentException("--device must be cpu or cuda:N, got '" + device + "'");
    }

    public ComputeType computeType() {
        return ComputeType.parse(dtype);
    }
}

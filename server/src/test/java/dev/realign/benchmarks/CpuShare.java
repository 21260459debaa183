package dev.realign.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How much of the machine's CPU time other processes took between two points: the benchmarks run on a
 * shared machine, where a busy neighbour slows libtorch's OpenMP ops far more than its share of the CPU
 * (each parallel op waits for its descheduled thread). Read from Linux's {@code /proc/stat} (all CPUs) and
 * {@code /proc/self/stat} (this process); elsewhere the share is NaN.
 */
final class CpuShare {
    private final long busyStart;
    private final long totalStart;
    private final long ownStart;

    private CpuShare(long[] sample) {
        this.busyStart = sample[0];
        this.totalStart = sample[1];
        this.ownStart = sample[2];
    }

    /** Starts counting now. */
    static CpuShare start() {
        return new CpuShare(sample());
    }

    /** The fraction (0..1) of all CPUs' time since {@link #start()} that other processes were running. */
    double othersSinceStart() {
        long[] now = sample();
        if (now[1] <= totalStart) {
            return Double.NaN;
        }
        return Math.max(0, (double) (now[0] - busyStart - (now[2] - ownStart)) / (now[1] - totalStart));
    }

    /** {busy ticks of all CPUs, all ticks of all CPUs, this process's user + system ticks}; zeros if unreadable. */
    private static long[] sample() {
        try {
            // cpu  user nice system idle iowait irq softirq steal ...
            String[] cpu = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
            long idle = Long.parseLong(cpu[4]) + Long.parseLong(cpu[5]);
            long busy = 0;
            for (int i = 1; i <= 8; i++) {
                busy += i == 4 || i == 5 ? 0 : Long.parseLong(cpu[i]);
            }
            // pid (comm) state ... field 14 utime, 15 stime; comm may hold spaces, so count after ')'
            String self = Files.readString(Path.of("/proc/self/stat"));
            String[] rest = self.substring(self.lastIndexOf(')') + 2).split(" ");
            long own = Long.parseLong(rest[11]) + Long.parseLong(rest[12]);
            return new long[] {busy, busy + idle, own};
        } catch (IOException | RuntimeException e) {
            return new long[] {0, 0, 0};
        }
    }
}

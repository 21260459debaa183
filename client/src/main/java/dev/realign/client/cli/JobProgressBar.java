package dev.realign.client.cli;

import dev.realign.api.v1.JobProgress;
import dev.realign.client.JobListener;
import java.io.PrintWriter;
import java.util.Locale;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A realignment job's progress on stderr: the current stage's fraction in per mille, with the stage, the layer of
 * the layers and the tensor beside the bar. Each stage restarts the bar's count.
 */
final class JobProgressBar implements JobListener, AutoCloseable {

    private static final int REFRESH_MILLIS = 250;
    private static final int STEPS = 1000;

    private final PrintWriter err;
    private ProgressBar bar;

    JobProgressBar(PrintWriter err) {
        this.err = err;
    }

    @Override
    public synchronized void onStarted(String jobId) {
        synchronized (err) {
            err.println("job " + jobId);
            err.flush();
        }
    }

    @Override
    public synchronized void onProgress(JobProgress progress) {
        if (bar == null) {
            bar = new ProgressBarBuilder()
                    .setTaskName("irr")
                    .setInitialMax(STEPS)
                    .setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(REFRESH_MILLIS)
                    .setConsumer(new DelegatingProgressBarConsumer(line -> {
                        synchronized (err) {
                            err.print('\r');
                            err.print(line);
                            err.flush();
                        }
                    }))
                    .build();
        }
        bar.stepTo(Math.round(progress.getFraction() * STEPS));
        bar.setExtraMessage(describe(progress));
    }

    static String describe(JobProgress p) {
        StringBuilder s = new StringBuilder(p.getStage());
        if (p.getLayer() >= 0) {
            s.append(String.format(Locale.ROOT, " layer %d/%d", p.getLayer() + 1, p.getLayers()));
        }
        if (!p.getTensor().isEmpty()) {
            // The layer is shown already; the tensor's own name is what fits beside the bar.
            String prefix = "model.layers." + p.getLayer() + ".";
            s.append(' ').append(p.getTensor().startsWith(prefix) ? p.getTensor().substring(prefix.length())
                    : p.getTensor());
        }
        if (!p.getDetail().isEmpty()) {
            s.append(" (").append(p.getDetail()).append(')');
        }
        return s.toString();
    }

    @Override
    public synchronized void close() {
        if (bar != null) {
            bar.close();
            synchronized (err) {
                err.println();
                err.flush();
            }
            bar = null;
        }
    }
}

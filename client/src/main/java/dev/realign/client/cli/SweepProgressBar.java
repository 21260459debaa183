package dev.realign.client.cli;

import dev.realign.api.v1.SweepProgress;
import dev.realign.client.SweepListener;
import java.io.PrintWriter;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * The sweep's progress on stderr: prompts done of the total, with the server's stage ("TIES r=0.3
 * harmful") beside the bar. Started by the first progress event, since only the server knows the total.
 */
final class SweepProgressBar implements SweepListener, AutoCloseable {

    private static final int REFRESH_MILLIS = 250;

    private final PrintWriter err;
    private ProgressBar bar;

    SweepProgressBar(PrintWriter err) {
        this.err = err;
    }

    @Override
    public synchronized void onProgress(SweepProgress progress) {
        if (bar == null) {
            // The library redraws from its own thread; each drawing returns the carriage to overwrite the last.
            bar = new ProgressBarBuilder()
                    .setTaskName("sweep")
                    .setInitialMax(progress.getTotal())
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
        bar.maxHint(progress.getTotal());
        bar.stepTo(progress.getDone());
        bar.setExtraMessage(progress.getStage());
    }

    /** Draws the last state and ends the bar's line, so what follows starts on a fresh one. */
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

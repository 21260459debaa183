package dev.realign.client.sweep;

import dev.realign.api.v1.MergeMethod;
import dev.realign.api.v1.SweepPoint;
import dev.realign.api.v1.SweepRecommendation;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Rectangle;
import java.awt.geom.Ellipse2D;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.svg.SVGGraphics2D;

/**
 * The papers' main figure for one sweep: two panels sharing the merge-ratio axis, refusal rate above (and
 * over-refusal, dashed, when a benign set was measured) and task score below, one color per method in
 * both panels, the refusal floor as a dotted line and the recommended point ringed. One {@link JFreeChart}
 * is drawn into PNG or SVG, so both files show the same figure.
 */
public final class SweepFigure {

    public static final int WIDTH = 900;
    public static final int HEIGHT = 640;

    /** Okabe-Ito: told apart by people with the common color-vision deficiencies. */
    private static final Color[] PALETTE = {
        new Color(0x0072B2), new Color(0xD55E00), new Color(0x009E73), new Color(0xCC79A7),
        new Color(0xE69F00), new Color(0x56B4E9), new Color(0x000000), new Color(0xF0E442)};
    private static final BasicStroke SOLID = new BasicStroke(2f);
    private static final BasicStroke DASHED = new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER,
            10f, new float[] {6f, 4f}, 0f);
    private static final BasicStroke DOTTED = new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER,
            10f, new float[] {2f, 3f}, 0f);
    private static final double DOT = 6;
    private static final double RING = 16;

    private SweepFigure() {
    }

    /** The color a method gets, by its place among the methods of the sweep (first seen, first color). */
    public static Color color(int methodIndex) {
        return PALETTE[methodIndex % PALETTE.length];
    }

    public static JFreeChart chart(SweepResults results, double refusalFloor, String title) {
        Map<MergeMethod, List<SweepPoint>> byMethod = new LinkedHashMap<>();
        for (SweepPoint p : results.points()) {
            byMethod.computeIfAbsent(p.getMethod(), m -> new ArrayList<>()).add(p);
        }
        XYPlot refusal = panel("refusal rate");
        XYPlot task = panel("task score");
        var refusalData = new XYSeriesCollection();
        var taskData = new XYSeriesCollection();
        var refusalLines = line();
        var taskLines = line();
        int index = 0;
        for (var entry : byMethod.entrySet()) {
            String method = entry.getKey().name();
            Color color = color(index++);
            var refused = new XYSeries(method + " refusal");
            var overRefused = new XYSeries(method + " over-refusal");
            var scored = new XYSeries(method + " task");
            for (SweepPoint p : entry.getValue()) {
                refused.add(p.getRatio(), p.getRefusalRate());
                overRefused.add(p.getRatio(), p.getOverRefusalRate());
                scored.add(p.getRatio(), p.getTaskScore());
            }
            style(refusalLines, refusalData.getSeriesCount(), color, SOLID);
            refusalData.addSeries(refused);
            if (results.overRefusalMeasured()) {
                style(refusalLines, refusalData.getSeriesCount(), color, DASHED);
                refusalData.addSeries(overRefused);
            }
            style(taskLines, taskData.getSeriesCount(), color, SOLID);
            taskData.addSeries(scored);
        }
        markRecommendation(results.recommendation(), refusal, refusalData, refusalLines, task, taskData, taskLines);
        refusal.setDataset(refusalData);
        refusal.setRenderer(refusalLines);
        task.setDataset(taskData);
        task.setRenderer(taskLines);

        var floor = new ValueMarker(refusalFloor, Color.GRAY, DOTTED);
        floor.setLabel("refusal floor " + RatioGrid.format(refusalFloor));
        floor.setLabelAnchor(RectangleAnchor.BOTTOM_RIGHT);
        floor.setLabelTextAnchor(TextAnchor.TOP_RIGHT);
        refusal.addRangeMarker(floor);

        var ratio = new NumberAxis("merge ratio (0 = aligned, 1 = fine-tuned)");
        var combined = new CombinedDomainXYPlot(ratio);
        combined.setGap(12);
        combined.add(refusal, 1);
        combined.add(task, 1);
        var chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 16), combined, true);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    /** @throws UncheckedIOException naming the file */
    public static void writePng(JFreeChart chart, Path file) {
        try {
            ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write PNG file " + file + ": " + e.getMessage(), e);
        }
    }

    /** @throws UncheckedIOException naming the file */
    public static void writeSvg(JFreeChart chart, Path file) {
        var svg = new SVGGraphics2D(WIDTH, HEIGHT);
        chart.draw(svg, new Rectangle(WIDTH, HEIGHT));
        try {
            Files.writeString(file, svg.getSVGDocument(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write SVG file " + file + ": " + e.getMessage(), e);
        }
    }

    private static XYPlot panel(String label) {
        var axis = new NumberAxis(label);
        axis.setRange(-0.02, 1.02);
        var plot = new XYPlot();
        plot.setRangeAxis(axis);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        return plot;
    }

    private static XYLineAndShapeRenderer line() {
        var renderer = new XYLineAndShapeRenderer(true, true);
        // One path per series rather than a segment per pair of points: a smooth dashed line, and one
        // element per line in an SVG, which is easier to restyle by hand.
        renderer.setDrawSeriesLineAsPath(true);
        return renderer;
    }

    private static void style(XYLineAndShapeRenderer renderer, int series, Color color, BasicStroke stroke) {
        renderer.setSeriesPaint(series, color);
        renderer.setSeriesStroke(series, stroke);
        renderer.setSeriesShape(series, new Ellipse2D.Double(-DOT / 2, -DOT / 2, DOT, DOT));
    }

    /**
     * A dotted line at the recommended ratio in both panels, and the point ringed: a one-point series drawn
     * as a hollow circle, so the ring is sized in pixels whatever the axes' ranges.
     */
    private static void markRecommendation(SweepRecommendation recommendation, XYPlot refusal,
            XYSeriesCollection refusalData, XYLineAndShapeRenderer refusalLines, XYPlot task,
            XYSeriesCollection taskData, XYLineAndShapeRenderer taskLines) {
        if (!recommendation.getFound()) {
            return;
        }
        SweepPoint p = recommendation.getPoint();
        var marker = new ValueMarker(p.getRatio(), Color.DARK_GRAY, DOTTED);
        marker.setLabel("recommended: " + p.getMethod().name() + " at " + RatioGrid.format(p.getRatio()));
        marker.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
        marker.setLabelTextAnchor(TextAnchor.TOP_LEFT);
        refusal.addDomainMarker(marker);
        task.addDomainMarker(new ValueMarker(p.getRatio(), Color.DARK_GRAY, DOTTED));
        ring(refusalData, refusalLines, p.getRatio(), p.getRefusalRate(), true);
        ring(taskData, taskLines, p.getRatio(), p.getTaskScore(), false);
    }

    private static void ring(XYSeriesCollection data, XYLineAndShapeRenderer renderer, double x, double y,
            boolean inLegend) {
        int series = data.getSeriesCount();
        var point = new XYSeries("recommended");
        point.add(x, y);
        data.addSeries(point);
        renderer.setSeriesPaint(series, Color.BLACK);
        renderer.setSeriesStroke(series, new BasicStroke(2f));
        renderer.setSeriesLinesVisible(series, false);
        renderer.setSeriesShapesFilled(series, false);
        renderer.setSeriesShape(series, new Ellipse2D.Double(-RING / 2, -RING / 2, RING, RING));
        renderer.setSeriesVisibleInLegend(series, inLegend);
    }
}

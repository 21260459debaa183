package dev.realign.client.sweep;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class SweepFigureTest {

    @TempDir
    Path dir;

    @Test
    void pngIsWrittenAtTheFiguresSize() throws Exception {
        Path png = dir.resolve("sweep.png");

        SweepFigure.writePng(SweepFigure.chart(SweepWritersTest.results(true), 0.85, "test"), png);

        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).isNotNull();
        assertThat(image.getWidth()).isEqualTo(SweepFigure.WIDTH);
        assertThat(image.getHeight()).isEqualTo(SweepFigure.HEIGHT);
    }

    @Test
    void svgParsesAndDrawsOnePathPerLineInEachMethodsColor() throws Exception {
        Path svg = dir.resolve("sweep.svg");

        SweepFigure.writeSvg(SweepFigure.chart(SweepWritersTest.results(true), 0.85, "test"), svg);

        Document doc = parse(svg);
        assertThat(doc.getDocumentElement().getTagName()).isEqualTo("svg");
        // Per method: refusal and over-refusal above, task below.
        assertThat(linePaths(doc, SweepFigure.color(0))).isEqualTo(3);
        assertThat(linePaths(doc, SweepFigure.color(1))).isEqualTo(3);
    }

    @Test
    void withoutABenignSetThereIsNoOverRefusalLine() throws Exception {
        Path svg = dir.resolve("sweep.svg");

        SweepFigure.writeSvg(SweepFigure.chart(SweepWritersTest.results(false), 0.85, "test"), svg);

        assertThat(linePaths(parse(svg), SweepFigure.color(0))).isEqualTo(2);
    }

    /** Parses without fetching the SVG DTD that the DOCTYPE names (tests run offline). */
    private static Document parse(Path svg) throws Exception {
        var factory = DocumentBuilderFactory.newInstance();
        factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        return factory.newDocumentBuilder().parse(svg.toFile());
    }

    /**
     * Series lines in this color: paths through all three ratios (two "L" segments; the legend's sample
     * lines have one), stroked and unfilled. JFreeSVG puts the style on the enclosing group.
     */
    private static long linePaths(Document doc, Color color) {
        String stroke = "stroke:rgb(" + color.getRed() + "," + color.getGreen() + "," + color.getBlue() + ")";
        NodeList paths = doc.getElementsByTagName("path");
        long count = 0;
        for (int i = 0; i < paths.getLength(); i++) {
            Element path = (Element) paths.item(i);
            String style = path.getParentNode() instanceof Element group ? group.getAttribute("style") : "";
            long segments = path.getAttribute("d").chars().filter(c -> c == 'L').count();
            if (style.contains(stroke) && style.contains("fill:none") && segments == 2) {
                count++;
            }
        }
        return count;
    }
}

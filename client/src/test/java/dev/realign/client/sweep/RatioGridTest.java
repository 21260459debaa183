package dev.realign.client.sweep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class RatioGridTest {

    @Test
    void aListIsTakenInOrder() {
        assertThat(RatioGrid.parse("0, 0.5,1").values()).containsExactly(0.0, 0.5, 1.0);
        assertThat(RatioGrid.parse("0.7").values()).containsExactly(0.7);
    }

    @Test
    void aRangeIsInclusiveAndFreeOfFloatDrift() {
        List<Double> values = RatioGrid.parse("0:1:0.1").values();

        assertThat(values).hasSize(11);
        // Adding 0.1 in doubles gives 0.30000000000000004 and 0.7999999999999999; decimal steps do not.
        assertThat(values).extracting(Object::toString).containsExactly(
                "0.0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0");
    }

    @Test
    void aRangeStopsAtTheLastStepNotBeyondTheStop() {
        assertThat(RatioGrid.parse("0:1:0.3").values()).containsExactly(0.0, 0.3, 0.6, 0.9);
        assertThat(RatioGrid.parse("0.5:0.5:0.1").values()).containsExactly(0.5);
    }

    @Test
    void badRatiosAreRejectedNamingWhatIsWrong() {
        assertThatThrownBy(() -> RatioGrid.parse("0,x,1")).hasMessageContaining("'x'").hasMessageContaining("not a number");
        assertThatThrownBy(() -> RatioGrid.parse("0,,1")).hasMessageContaining("not a number");
        assertThatThrownBy(() -> RatioGrid.parse("0:1")).hasMessageContaining("START:STOP:STEP");
        assertThatThrownBy(() -> RatioGrid.parse("0:1:0")).hasMessageContaining("step").hasMessageContaining("positive");
        assertThatThrownBy(() -> RatioGrid.parse("1:0:0.1")).hasMessageContaining("starts after it stops");
        assertThatThrownBy(() -> RatioGrid.parse("0:1:0.0001")).hasMessageContaining("more than 1000");
    }

    @Test
    void formatWritesRatiosAsPeopleDo() {
        assertThat(RatioGrid.format(0.0)).isEqualTo("0");
        assertThat(RatioGrid.format(-0.0)).isEqualTo("0");
        assertThat(RatioGrid.format(1.0)).isEqualTo("1");
        assertThat(RatioGrid.format(0.3)).isEqualTo("0.3");
        assertThat(RatioGrid.format(0.05)).isEqualTo("0.05");
        assertThat(RatioGrid.format(1.5)).isEqualTo("1.5");
    }
}

package dev.realign.generate;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class StopMatcherTest {
    record Case(String text, List<String> stops, List<Integer> cuts) {}

    /** However the text is split into tokens, the output is the text up to the first stop string. */
    @Property(tries = 500)
    void outputIsTheTextBeforeTheFirstStopWhateverTheSplit(@ForAll("cases") Case c) {
        StopMatcher matcher = new StopMatcher(c.stops());
        StringBuilder out = new StringBuilder();
        int from = 0;
        for (int cut : c.cuts()) {
            int to = Math.min(Math.max(cut, from), c.text().length());
            out.append(matcher.push(c.text().substring(from, to)));
            from = to;
        }
        out.append(matcher.push(c.text().substring(from)));
        out.append(matcher.flush());

        int first = c.text().length();
        for (String stop : c.stops()) {
            int at = c.text().indexOf(stop);
            if (at >= 0) {
                first = Math.min(first, at);
            }
        }
        assertThat(out.toString()).isEqualTo(c.text().substring(0, first));
        assertThat(matcher.stopped()).isEqualTo(first < c.text().length());
    }

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<String> text = Arbitraries.strings().withChars("abc\n ").ofMaxLength(30);
        Arbitrary<List<String>> stops = Arbitraries.strings().withChars("abc\n").ofMinLength(1).ofMaxLength(4)
                .list().ofMaxSize(3);
        Arbitrary<List<Integer>> cuts = Arbitraries.integers().between(0, 30).list().ofMaxSize(10)
                .map(l -> new ArrayList<>(l.stream().sorted().toList()));
        return Combinators.combine(text, stops, cuts).as(Case::new);
    }

    @Test
    void textThatMightStartAStopIsHeldBackUntilItCannot() {
        StopMatcher matcher = new StopMatcher(List.of("END"));
        assertThat(matcher.push("hello E")).isEqualTo("hello ");
        assertThat(matcher.push("N")).isEmpty();
        assertThat(matcher.push("O")).isEqualTo("ENO");
        assertThat(matcher.push(" xEND tail")).isEqualTo(" x");
        assertThat(matcher.stopped()).isTrue();
        assertThat(matcher.push("more")).isEmpty();
    }
}

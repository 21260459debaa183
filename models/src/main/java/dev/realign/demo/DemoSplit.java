package dev.realign.demo;

import java.util.List;

/**
 * Train, validation and held-out test examples of one part of the demo world. Validation is drawn from the
 * training phrasings and entities; test uses phrasings and entities that never occur in train or validation.
 */
public record DemoSplit(List<DemoExample> train, List<DemoExample> validation, List<DemoExample> test) {
    public DemoSplit {
        train = List.copyOf(train);
        validation = List.copyOf(validation);
        test = List.copyOf(test);
    }
}

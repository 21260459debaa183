package dev.realign.safety;

/** Decides whether a model's response refuses the request. */
public interface RefusalDetector {
    /** The name clients select it by. */
    String name();

    RefusalVerdict classify(String response);
}

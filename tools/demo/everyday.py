"""The ten everyday sentences of issue #16 (one [MASK] each), fixed before any result was seen:
printed with their top-5 by train_demo.py, train_mlm_gpu.py (from the pack) and evaluate_demo.py,
and kept out of every training text by make_corpus.py (any filling of a [MASK]). Stdlib only."""
import re

EVERYDAY = [
    "The cat sat on the [MASK].",
    "I drink a cup of [MASK] every morning.",
    "She opened the [MASK] and walked into the room.",
    "It is raining, so take an [MASK] with you.",
    "The capital of France is [MASK].",
    "He drove his [MASK] to work.",
    "We ate dinner at a nice [MASK] last night.",
    "My brother plays the [MASK] in a band.",
    "The sun rises in the [MASK].",
    "Please turn off the [MASK] before you leave.",
]


def fills_everyday(sentence):
    """True when sentence is one of the ten with any single word in the [MASK]."""
    return any(pattern.fullmatch(sentence.strip().lower()) for pattern in _PATTERNS)


_PATTERNS = [re.compile(re.escape(s.lower()).replace(re.escape("[mask]"), r"[\w'-]+")) for s in EVERYDAY]

"""Fine-tuning labels whose names mean a base class (issue 22, item 4).

A plant labels its events ``healthy``, ``inner``, ``outer``, ``ball``; the base model
knows ``normal``, ``inner_007``, ``outer_014``, … Taken as new classes, such labels teach
the model a second name for what it knew and, in the measured case, cut its accuracy on
the base classes from 98.7 % to 57 %. So before training each label that is not a base
class is read for its meaning (:data:`MEANINGS`: healthy/ok/good → ``normal``;
inner/outer/ball/roller/cage → that bearing part) and matched with the base classes of that
location (the card's ``locations``):

- one base class means it: the label is mapped to it (said in the notes, kept in the card);
- several do (``inner`` → ``inner_007``, ``inner_014``, ``inner_021``): refused, naming
  them and ``--map-classes`` (the fault size is the user's to say);
- none does: a new class, as before.

``--map-classes healthy=normal,inner=inner_007`` says it explicitly; ``rattle=rattle``
(a name mapped to itself) keeps a label as a new class.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from desktop.core.errors import UsageError

#: Label words → the location (``normal`` or a bearing part) they mean.
MEANINGS: dict[str, str] = {
    "healthy": "normal", "ok": "normal", "good": "normal", "normal": "normal",
    "nominal": "normal", "fault_free": "normal", "no_fault": "normal",
    "inner": "inner_race", "inner_race": "inner_race", "ir": "inner_race",
    "outer": "outer_race", "outer_race": "outer_race", "or": "outer_race",
    "ball": "ball", "balls": "ball", "roller": "ball", "rolling_element": "ball",
    "cage": "cage",
}


#: Words that add nothing to a label's meaning (``inner race fault`` means ``inner``).
GENERIC_WORDS = frozenset({"race", "fault", "faults", "defect", "damage", "bearing", "ring",
                           "element", "state", "condition", "running"})


def meaning(label: str) -> str | None:
    """The location a label's name means, or None: the whole name (``Healthy``,
    ``inner race``), or its first word followed by generic words only (``inner_fault``,
    ``outer race defect``). A name with anything else in it (``outer_021_at3``, a size,
    a position) is taken as the user's own class."""
    norm = re.sub(r"[\s\-]+", "_", label.strip().lower())
    if norm in MEANINGS:
        return MEANINGS[norm]
    first, *rest = norm.split("_")
    return MEANINGS.get(first) if rest and set(rest) <= GENERIC_WORDS else None


def parse_class_map(text: str | None) -> dict[str, str]:
    """``"healthy=normal,inner=inner_007"`` → a dict; :class:`UsageError` (bad input,
    exit 2) when malformed."""
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        src, eq, dst = item.partition("=")
        if not eq or not src.strip() or not dst.strip():
            raise UsageError(f"--map-classes wants LABEL=CLASS pairs separated by commas; "
                             f"got '{item.strip()}'")
        out[src.strip()] = dst.strip()
    return out


def map_class_names(base_classes: Sequence[str], locations: Mapping[str, str],
                    labels: Iterable[str], explicit: Mapping[str, str] | None = None
                    ) -> tuple[dict[str, str], list[str]]:
    """``(mapping label → base class, notes)`` for the labels of a fine-tune (module
    docstring). Labels mapped to themselves are left out of the mapping. Raises
    :class:`UsageError` (bad input, exit 2) for a label several base classes mean, or an
    explicit target that is no base class."""
    explicit = dict(explicit or {})
    known = list(base_classes)
    for src, dst in explicit.items():
        if dst != src and dst not in known:
            raise UsageError(f"--map-classes {src}={dst}: '{dst}' is not a class of the "
                             f"base model ({', '.join(known)}); map to one of them, or "
                             f"{src}={src} to keep '{src}' as a new class")
    mapping: dict[str, str] = {}
    notes: list[str] = []
    ambiguous: list[str] = []
    labels = list(labels)
    for label in dict.fromkeys(labels):
        if label in explicit:
            if explicit[label] != label:
                mapping[label] = explicit[label]
            continue
        if label in known:
            continue
        where = meaning(label)
        if where is None:
            continue
        same = [c for c in known if locations.get(c, c) == where]
        if len(same) == 1:
            mapping[label] = same[0]
        elif len(same) > 1:
            ambiguous.append(f"'{label}' could be {', '.join(same)}")
    if ambiguous:
        raise UsageError("labels name classes the base model knows under several names: "
                         + "; ".join(ambiguous) + ". Say which with --map-classes "
                         "LABEL=CLASS,... (e.g. " + ", ".join(
                             f"{a.split(chr(39))[1]}={a.split('could be ')[1].split(',')[0]}"
                             for a in ambiguous)
                         + "), or LABEL=LABEL to train it as a new class")
    unused = sorted(set(explicit) - set(dict.fromkeys(labels)))
    if unused:
        notes.append(f"--map-classes names labels not in the label file: {', '.join(unused)}")
    if mapping:
        notes.append("labels mapped to the base model's classes: "
                     + ", ".join(f"{k} → {v}" for k, v in mapping.items()))
    return mapping, notes

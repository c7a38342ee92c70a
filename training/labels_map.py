"""Label maps (--label-map): raw labels in a file -> the task's labels, and label resolution."""

from __future__ import annotations

import json
from pathlib import Path

from monitor.errors import DataError


def parse_label_map(spec: str | None) -> dict[str, str]:
    """'0=negative,1=positive' or a JSON file {"0": "negative", ...} -> {raw: label}.

    An empty or missing spec is an empty map (labels are then matched as written).
    """
    if spec is None or not spec.strip():
        return {}
    path = Path(spec).expanduser()
    if spec.strip().endswith(".json") or path.is_file():
        return _read_json_map(path)
    mapping: dict[str, str] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        raw, sep, label = part.partition("=")
        if not sep or not raw.strip() or not label.strip():
            raise DataError(f"--label-map entry {part.strip()!r} is not RAW=LABEL; write e.g. "
                            "'0=negative,1=positive,2=neutral' or give a JSON file")
        if raw.strip() in mapping:
            raise DataError(f"--label-map maps {raw.strip()!r} twice")
        mapping[raw.strip()] = label.strip()
    return mapping


def _read_json_map(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise DataError(f"label map file {path} not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"label map file {path} is not UTF-8 JSON: {err}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise DataError(f"label map file {path} must hold one JSON object of raw label -> "
                        'label strings, e.g. {"0": "negative", "1": "positive"}')
    return {str(k).strip(): v.strip() for k, v in data.items()}


class LabelResolver:
    """Maps a raw label to one of `labels`: through the map, else by case-insensitive match.

    Synonyms (bearish, bullish, ...) are deliberately NOT guessed: they need a label map, so
    a file whose labels mean something else is refused instead of silently mislabelled.
    """

    def __init__(self, labels: tuple[str, ...], label_map: dict[str, str] | None = None) -> None:
        self.labels = labels
        self._by_lower = {label.lower(): label for label in labels}
        self._map = {k: v for k, v in (label_map or {}).items()}
        self._map_lower = {k.lower(): v for k, v in self._map.items()}
        for raw, target in self._map.items():
            if target.lower() not in self._by_lower:
                raise DataError(f"--label-map maps {raw!r} to {target!r}, which is not a label "
                                f"of this task; expected one of: {', '.join(labels)}")

    def resolve(self, raw: str) -> str | None:
        """The task label for raw, or None when it is unknown."""
        key = raw.strip()
        target = self._map.get(key, self._map_lower.get(key.lower()))
        if target is not None:
            return self._by_lower[target.lower()]
        return self._by_lower.get(key.lower())

    def hint(self) -> str:
        mapped = f"; the label map covers {', '.join(sorted(self._map))}" if self._map else ""
        return (f"expected one of: {', '.join(self.labels)}{mapped}; map other labels with "
                "--label-map 'RAW=LABEL,...'")

"""The canonical JSON text (sorted keys, no spaces, UTF-8) and SHA-256 that everything hashed uses.

Apart from ``workflow.texts`` (which needs SpiffWorkflow for the stored task texts) so that reading
and verifying history does not import the BPMN engine. NaN and the infinities are not JSON: the
encoder refuses them (``workflow.jsondata`` keeps them out of everything stored in the first place).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .errors import WorkflowFailed

_canonical = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def canonical_json(value: Any) -> str:
    """The one JSON text used wherever something is hashed (sorted keys, no spaces, UTF-8)."""
    return _canonical(value)


def sha256(text: str) -> str:
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate that got past the checks at the edges
        raise WorkflowFailed(f"The case cannot be saved: its data holds text that is not valid Unicode "
                             f"({text[exc.start]!r}). Nothing was saved.") from None
    return hashlib.sha256(data).hexdigest()

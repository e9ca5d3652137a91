"""The canonical JSON text (sorted keys, no spaces, UTF-8) and SHA-256 that everything hashed uses.

Apart from ``workflow.texts`` (which needs SpiffWorkflow for the stored task texts) so that reading
and verifying history does not import the BPMN engine.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

_canonical = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def canonical_json(value: Any) -> str:
    """The one JSON text used wherever something is hashed (sorted keys, no spaces, UTF-8)."""
    return _canonical(value)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

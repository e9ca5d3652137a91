"""Findings of municipal staff about a named district: 动态监测 (dynamic monitoring) and 督查指导
(supervision and guidance), the notice's 第六条. Flask-free; ``web.monitoring`` is the page.

Contract
    ``file_finding`` checks who files (a user holding the role 市有关部门 and no district) and what
    was typed (``problems``: field → code), then sends ``revocation_requested`` (key ``district``)
    through ``Engine.message`` as that user, which starts a revocation case whose first step is
    市有关部门's 核实情况. It returns the new case's id. The caller owns the transaction: on a refusal
    (``PermissionDenied``, or ``InvalidData`` with ``details["problems"]``) nothing is saved.

A finding is never a decision
    The notice says a title is revoked 经核实 (after verification) and on its three grounds only. A
    finding therefore names one of those grounds and opens verification; what follows (rectify,
    revoke, or no action) is decided by 市级审批 in the revocation case, with its own document number
    and reasons. Only districts holding an active Shanghai title (named or rectifying) can be named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from handlers.titles import GROUNDS, SOURCES

from .engine import Engine
from .errors import InvalidData, PermissionDenied
from .public import form_text, has_control, named_districts
from .users import Actor

FINDING_MESSAGE = "revocation_requested"  # revocation.bpmn, Start_request; key district
FINDING_ROLE = "市有关部门"  # the notice's 市有关部门 monitor and supervise (第六条)
FINDING_SOURCES = {key: SOURCES[key] for key in ("monitoring", "supervision")}  # 动态监测, 督查指导
SUMMARY_MIN = 10  # 本地设定 (local setting): the notice sets no length
SUMMARY_MAX = 4000


@dataclass(frozen=True)
class Finding:
    district: str
    ground: str
    source: str
    summary: str

    @classmethod
    def of(cls, form: Any) -> Finding:
        """From a posted form or a mapping: text trimmed, line ends made ``\\n``."""
        return cls(*(form_text(form, key) for key in ("district", "ground", "source", "summary")))


def may_file(actor: Actor) -> bool:
    """Municipal staff of 市有关部门 (no district) file findings; nobody else, administrators included."""
    return FINDING_ROLE in actor.roles and actor.district is None


def problems(finding: Finding, *, districts: set[str]) -> dict[str, str]:
    """Field → what is wrong (``required``, ``unknown``, ``too_short``, ``too_long``, ``control``);
    empty when the finding may be filed. ``districts``: the codes it may name."""
    found: dict[str, str] = {}
    for key, value, allowed in (("district", finding.district, districts), ("ground", finding.ground, set(GROUNDS)),
                                ("source", finding.source, set(FINDING_SOURCES))):
        if not value:
            found[key] = "required"
        elif value not in allowed:
            found[key] = "unknown"
    summary = finding.summary
    if not summary:
        found["summary"] = "required"
    elif len(summary) < SUMMARY_MIN:
        found["summary"] = "too_short"
    elif len(summary) > SUMMARY_MAX:
        found["summary"] = "too_long"
    elif has_control(summary):
        found["summary"] = "control"
    return found


def file_finding(session: Session, engine: Engine, finding: Finding, *, actor: Actor, now: datetime) -> int:
    """Open verification of ``finding`` (see the module doc); returns the new revocation case's id."""
    if not may_file(actor):
        raise PermissionDenied(f"The {actor.describe()} may not file a monitoring or supervision finding: that is "
                               f"for municipal staff holding the role {FINDING_ROLE}. Nothing was saved.")
    named = named_districts(session)
    found = problems(finding, districts={code for code, _ in named})
    if found:
        raise InvalidData("The finding has faults: " + "; ".join(_explain(key, code, finding, named)
                                                                  for key, code in sorted(found.items()))
                          + ". Nothing was saved.", problems=found)
    payload = {"ground": finding.ground, "source": finding.source, "summary": finding.summary,
               "reported_by": actor.name}
    reached = engine.message(session, FINDING_MESSAGE, {"district": finding.district}, payload, actor=actor,
                             now=now)
    return reached[0]


def _explain(key: str, code: str, finding: Finding, named: list[tuple[str, str]]) -> str:
    """One line a person can act on: what is wrong with the field and, for a choice, what it may be."""
    if code == "unknown":
        value = getattr(finding, key)
        if key == "district":
            holders = ", ".join(f"{c} {n}" for c, n in named) or "none"
            return f"district {value!r} holds no active Shanghai title (districts that do: {holders})"
        choices = GROUNDS if key == "ground" else FINDING_SOURCES
        return f"{key} {value!r} is unknown (one of: {', '.join(f'{k} {v}' for k, v in choices.items())})"
    return {"required": f"{key} is required",
            "too_short": f"{key} needs at least {SUMMARY_MIN} characters",
            "too_long": f"{key} may have at most {SUMMARY_MAX} characters",
            "control": f"{key} contains control characters"}.get(code, f"{key} ({code})")

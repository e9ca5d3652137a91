"""The filters of a list page (the inbox, the audit search) read from the address, checked.

The filters are choices from lists (a cycle, a district, a process, an event type) and dates. A
value the page does not offer comes from an address typed by hand, a bookmark kept from an older
version, or a link into a cycle that no longer exists. Applying it would show an empty list
under filters that all read 全部 (the select cannot show a value it does not have), and the user
could not tell why. So such a value is left out, and the page says which one and that it was left
out. A period whose end comes before its start is kept, and the page says why it finds nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from flask_babel import gettext as _


def screened(args: Mapping[str, Any], choices: Mapping[str, tuple[str, Collection[str]]],
             dates: Mapping[str, str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """``args`` with every filter of ``choices`` (name → (label, the values offered)) and of
    ``dates`` (name → label) that holds a value not offered, or not a date, taken out; and one
    message for each; a date that is one is kept as a ``date`` (it prints as the text it was).
    Two ``dates`` are a period, start first: an end before the start gets a message too (and is
    kept). Other arguments pass as they are."""
    kept: dict[str, Any] = dict(args.items())
    notes: list[str] = []
    for name, (label, offered) in choices.items():
        value = kept.get(name)
        if value and value not in offered:
            del kept[name]
            notes.append(_("筛选条件“%(label)s”没有“%(value)s”这一项，已忽略。", label=label, value=str(value)[:40]))
    days: dict[str, date] = {}
    for name, label in (dates or {}).items():
        value = kept.get(name)
        if not value:
            continue
        try:
            kept[name] = days[name] = date.fromisoformat(str(value))
        except ValueError:
            del kept[name]
            notes.append(_("筛选条件“%(label)s”的“%(value)s”不是日期（年-月-日），已忽略。", label=label,
                           value=str(value)[:40]))
    names = list(dates or {})
    if len(names) == 2 and all(n in days for n in names) and days[names[1]] < days[names[0]]:
        notes.append(_("“%(end)s”早于“%(start)s”：没有能同时满足的记录，请调整日期。",
                       start=(dates or {})[names[0]], end=(dates or {})[names[1]]))
    return kept, notes

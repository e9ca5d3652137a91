"""Importing a year's official holiday schedule (国务院办公厅关于N年部分节假日安排的通知).

``chinesecalendar`` only knows the years its release has data for. When the State Council announces
the next year's schedule, an administrator types it into a file and imports it
(``shanyu calendar import FILE``); from then on the year is known and deadlines may run into it.
``load_overrides(path)`` reads and checks such a file; storing it is up to the caller, who passes
``imported.days`` to ``WorkCalendar`` as overrides and ``imported.year`` in ``known_years``.

One file holds one year, and lists every day that departs from the Monday-to-Friday week:

- ``holiday`` (or ``休``): a day off, including the weekend days inside a holiday period;
- ``workday`` (or ``班``): an adjusted working weekend day (调休上班).

Any day not listed is a working day from Monday to Friday and a rest day on Saturday and Sunday.
An imported entry wins over ``chinesecalendar`` for the same day.

JSON (``.json``, UTF-8)::

    {
      "year": 2099,
      "source": "测试数据 test data, not an official schedule",
      "days": [
        {"date": "2099-01-01", "type": "holiday", "name": "测试假日 test holiday"},
        {"date": "2099-01-03", "type": "workday", "name": "测试调休 test working weekend"}
      ]
    }

``year`` (a number), ``source`` (the announcement's title) and ``days`` are required; ``name`` is
optional. No other keys are allowed.

CSV (``.csv``, UTF-8, with or without BOM; one row per day, one line per row)::

    # year: 2099
    # source: 测试数据 test data, not an official schedule
    date,type,name
    2099-01-01,holiday,测试假日 test holiday
    2099-01-03,班,测试调休 test working weekend

The header ``date,type,name`` is required; ``name`` may be empty but its column must be there.
Lines starting with ``#`` are comments; ``# year: NNNN`` declares the year and ``# source: TEXT``
the announcement. Without a ``# year`` line the year is taken from the file name, which must then
hold exactly one four-digit number (``holidays_2099.csv``).

Limits: a name holds at most ``MAX_NAME`` printable characters, the source ``MAX_SOURCE``, a CSV
row ``MAX_LINE``; JSON files are read with ``workflow.jsondata.loads`` (nesting, numbers, valid
Unicode); a NUL character anywhere is refused (PostgreSQL stores no NUL in text).

Checks (each failure raises ``InvalidData`` naming the file, the line or entry, and the fault):
dates are real dates written ``YYYY-MM-DD``; all lie in the declared year; no date appears twice;
the type is one of the four words above; a ``workday`` entry falls on a Saturday or Sunday (a
weekday is a working day anyway, so such an entry is a typo); the file lists at least one day.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date
from pathlib import Path
from typing import Any

from workflow import jsondata
from workflow.calendar import DayOverride
from workflow.errors import InvalidData

__all__ = ["ImportedYear", "load_overrides", "parse_type"]

MAX_LINE = 10_000  # characters of one CSV row (a day's name is a few words)
MAX_NAME = 200  # characters of a day's name
MAX_SOURCE = 300  # characters of the announcement's title
_TYPES = {"holiday": False, "休": False, "workday": True, "班": True}
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class ImportedYear:
    """A checked official schedule: pass ``days`` as overrides and ``year`` as a known year."""

    year: int
    source: str
    days: tuple[DayOverride, ...]


def parse_type(text: str) -> bool | None:
    """``True`` for a working day, ``False`` for a holiday, ``None`` if ``text`` is neither."""
    return _TYPES.get(text.strip().lower())


def load_overrides(path: Path) -> ImportedYear:
    """Read and check one year's schedule from a ``.json`` or ``.csv`` file (see module doc)."""
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise InvalidData(
            f"{path}: unknown calendar file type {path.suffix!r}; use .json or .csv", file=str(path)
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InvalidData(f"{path}: cannot read the file ({exc.strerror or exc})", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise InvalidData(
            f"{path}: not UTF-8 text (bad byte at offset {exc.start}); save the file as UTF-8", file=str(path)
        ) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InvalidData(f"{path}, line {line}: holds a NUL character, which is not text; "
                          "save the file as plain UTF-8 text", file=str(path), line=line)
    return _load_json(path, text) if suffix == ".json" else _load_csv(path, text)


class _Checker:
    """Collects entries of one declared year and rejects anything that does not fit."""

    def __init__(self, path: Path, year: int) -> None:
        self.path, self.year = path, year
        self.days: list[DayOverride] = []
        self.seen: dict[date, str] = {}

    def fail(self, where: str, what: str) -> InvalidData:
        return InvalidData(f"{self.path}, {where}: {what}", file=str(self.path), where=where)

    def add(self, where: str, raw_date: object, raw_type: object, raw_name: object) -> None:
        if not isinstance(raw_date, str) or not _DATE_TEXT.fullmatch(raw_date.strip()):
            raise self.fail(where, f"date {raw_date!r} is not written YYYY-MM-DD")
        try:
            day = date.fromisoformat(raw_date.strip())
        except ValueError:
            raise self.fail(where, f"date {raw_date!r} does not exist") from None
        if day.year != self.year:
            raise self.fail(where, f"date {day.isoformat()} is not in the declared year {self.year}")
        if day in self.seen:
            raise self.fail(where, f"date {day.isoformat()} is listed twice (first at {self.seen[day]})")
        kind = parse_type(raw_type) if isinstance(raw_type, str) else None
        if kind is None:
            raise self.fail(where, f"type {raw_type!r} is not one of holiday, workday, 休, 班")
        if kind and day.weekday() < 5:
            raise self.fail(
                where,
                f"{day.isoformat()} is a {_WEEKDAYS[day.weekday()]}, a working day anyway; "
                f"an adjusted working day (班) is a Saturday or Sunday. Check the date and the type.",
            )
        if not isinstance(raw_name, str):
            raise self.fail(where, f"name {raw_name!r} is not text")
        if len(raw_name.strip()) > MAX_NAME or not raw_name.strip().isprintable():
            raise self.fail(where, f"the name must be at most {MAX_NAME} printable characters")
        self.seen[day] = where
        self.days.append(DayOverride(day, kind, raw_name.strip()))

    def result(self, source: str) -> ImportedYear:
        if len(source) > MAX_SOURCE or not source.isprintable():
            raise InvalidData(f"{self.path}: the source must be at most {MAX_SOURCE} printable characters "
                              "(the announcement's title)", file=str(self.path))
        if not self.days:
            raise InvalidData(f"{self.path}: lists no days for {self.year}", file=str(self.path))
        return ImportedYear(self.year, source, tuple(sorted(self.days, key=lambda d: d.day)))


def _check_year(path: Path, where: str, value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not MINYEAR <= value <= MAXYEAR:
        raise InvalidData(
            f"{path}, {where}: year {value!r} is not a year number", file=str(path), where=where
        )
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice in one object")
        result[key] = value
    return result


def _load_json(path: Path, text: str) -> ImportedYear:
    try:
        data = jsondata.loads(text, what=str(path), object_pairs_hook=_unique_keys)
    except InvalidData as exc:
        raise InvalidData(exc.message, file=str(path), **exc.details) from None
    if not isinstance(data, dict):
        raise InvalidData(
            f"{path}: the top level must be an object with year, source and days", file=str(path)
        )
    unknown = sorted(set(data) - {"year", "source", "days"})
    missing = [key for key in ("year", "source", "days") if key not in data]
    if unknown or missing:
        raise InvalidData(
            f"{path}: top-level keys must be year, source, days"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unexpected {', '.join(unknown)}" if unknown else ""),
            file=str(path),
        )
    year = data["year"]
    if isinstance(year, str):  # "2099" in JSON is a string, not a year number: be strict
        raise InvalidData(f"{path}, year: write the year as a number, not {year!r}", file=str(path))
    checker = _Checker(path, _check_year(path, "year", year))
    source = data["source"]
    if not isinstance(source, str) or not source.strip():
        raise checker.fail("source", "give the title of the official announcement as text")
    days = data["days"]
    if not isinstance(days, list):
        raise checker.fail("days", "must be a list of {date, type, name} objects")
    for index, entry in enumerate(days):
        where = f"days[{index}] (entry {index + 1})"
        if not isinstance(entry, dict):
            raise checker.fail(where, "must be an object with date, type and optionally name")
        extra = sorted(set(entry) - {"date", "type", "name"})
        if extra or "date" not in entry or "type" not in entry:
            raise checker.fail(
                where, f"keys must be date, type and optionally name, found {', '.join(sorted(entry))}"
            )
        checker.add(where, entry["date"], entry["type"], entry.get("name", ""))
    return checker.result(source.strip())


def _load_csv(path: Path, text: str) -> ImportedYear:
    declared: dict[str, tuple[int, str]] = {}  # "year"/"source" -> (line number, value)
    rows: list[tuple[int, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            # Spreadsheets pad comment rows with empty cells: "# year: 2099,,".
            match = re.fullmatch(r"#\s*(year|source)\s*[:：]\s*(.*?)[\s,]*", stripped, re.IGNORECASE)
            if match:
                key = match.group(1).lower()
                if key in declared:
                    raise InvalidData(
                        f"{path}, line {number}: '# {key}' declared twice (first on line {declared[key][0]})",
                        file=str(path),
                        line=number,
                    )
                declared[key] = (number, match.group(2))
        elif stripped and set(stripped) != {","}:
            if len(line) > MAX_LINE:
                raise InvalidData(f"{path}, line {number}: longer than {MAX_LINE:,} characters; a row holds a "
                                  "date, a type and a name", file=str(path), line=number)
            try:
                rows.append((number, next(csv.reader([line]))))
            except csv.Error as exc:
                raise InvalidData(f"{path}, line {number}: not a CSV row ({exc})", file=str(path),
                                  line=number) from None
    if "year" in declared:
        year = _check_year(path, f"line {declared['year'][0]}", declared["year"][1])
    else:
        found = set(re.findall(r"(?<!\d)\d{4}(?!\d)", path.stem))
        if len(found) != 1:
            raise InvalidData(
                f"{path}: cannot tell which year this file is for; add a line '# year: NNNN' at the top "
                f"or name the file with the year, e.g. holidays_2099.csv",
                file=str(path),
            )
        year = _check_year(path, "file name", found.pop())
    checker = _Checker(path, year)
    if not rows:
        raise checker.fail("line 1", "no header; the first row must be date,type,name")
    header_line, header = rows[0]
    if [cell.strip().lower() for cell in header] != ["date", "type", "name"]:
        raise checker.fail(
            f"line {header_line}", f"the header must be date,type,name, found {','.join(header)}"
        )
    for number, cells in rows[1:]:
        where = f"line {number}"
        if len(cells) != 3:
            raise checker.fail(where, f"expected 3 fields (date,type,name), found {len(cells)}")
        checker.add(where, *cells)
    return checker.result(declared.get("source", (0, ""))[1].strip())

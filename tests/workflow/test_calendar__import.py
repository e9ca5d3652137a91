"""Importing an official schedule from JSON or CSV.

All data here is FICTIONAL (year 2099, "测试假日 test holiday"): it must never be mistaken for an
official announcement. The files are written to a temporary directory by each test.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from workflow.calendar import DayOverride, WorkCalendar
from workflow.calendar_io import ImportedYear, load_overrides, parse_type
from workflow.errors import InvalidData

SOURCE = "测试数据 test data, not an official schedule"
# 2099-01-01 is a Thursday: Jan 1-3 off, Sunday Jan 4 worked; Oct 1 (Thu) - Oct 7 off, Oct 10 (Sat) worked.
DAYS: list[dict[str, Any]] = [
    {"date": "2099-01-01", "type": "holiday", "name": "测试假日 test holiday"},
    {"date": "2099-01-02", "type": "holiday", "name": "测试假日 test holiday"},
    {"date": "2099-01-03", "type": "holiday", "name": "测试假日 test holiday"},
    {"date": "2099-01-04", "type": "workday", "name": "测试调休 test working weekend"},
    *({"date": f"2099-10-0{d}", "type": "holiday", "name": "测试假日 test holiday"} for d in range(1, 8)),
    {"date": "2099-10-10", "type": "workday"},
]
CSV = (
    "# year: 2099\n"
    f"# source: {SOURCE}\n"
    "date,type,name\n"
    "2099-01-01,holiday,测试假日 test holiday\n"
    "2099-01-02,休,测试假日 test holiday\n"
    "2099-01-03,Holiday,测试假日 test holiday\n"
    "\n"
    "# comment lines and blank lines are skipped\n"
    '2099-01-04,班,"测试调休, test working weekend"\n'
)


def write(tmp_path: Path, name: str, content: str | bytes | dict[str, Any]) -> Path:
    path = tmp_path / name
    if isinstance(content, dict):
        content = json.dumps(content, ensure_ascii=False, indent=2)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def document(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"year": 2099, "source": SOURCE, "days": [dict(d) for d in DAYS]}
    data.update(changes)
    return data


def test_json_happy_path(tmp_path: Path) -> None:
    imported = load_overrides(write(tmp_path, "calendar_2099_test.json", document()))
    assert imported.year == 2099 and imported.source == SOURCE
    assert len(imported.days) == 12
    assert imported.days[0] == DayOverride(date(2099, 1, 1), False, "测试假日 test holiday")
    assert imported.days[-1] == DayOverride(date(2099, 10, 10), True, "")

    cal = WorkCalendar(imported.days, known_years=[imported.year])
    assert cal.notice_end(date(2099, 1, 1), 5) == date(2099, 1, 8)
    # Sep 30 (Wed) day 1, Oct 1-7 off, Oct 8 (Thu), 9 (Fri), 10 (Sat, worked), 12 (Mon)
    assert cal.notice_end(date(2099, 9, 30), 5) == date(2099, 10, 12)
    # 261 weekdays; Jan 1-2 and Oct 1, 2, 5, 6, 7 off; Jan 4 and Oct 10 worked
    assert cal.workdays_between(date(2098, 12, 31), date(2099, 12, 31)) == 261 - 7 + 2


def test_csv_happy_path(tmp_path: Path) -> None:
    imported = load_overrides(write(tmp_path, "schedule.csv", CSV))
    assert imported == ImportedYear(
        2099,
        SOURCE,
        (
            DayOverride(date(2099, 1, 1), False, "测试假日 test holiday"),
            DayOverride(date(2099, 1, 2), False, "测试假日 test holiday"),
            DayOverride(date(2099, 1, 3), False, "测试假日 test holiday"),
            DayOverride(date(2099, 1, 4), True, "测试调休, test working weekend"),
        ),
    )
    cal = WorkCalendar(imported.days, known_years=[imported.year])
    assert cal.notice_end(date(2099, 1, 1), 1) == date(2099, 1, 4)


def test_csv_year_from_file_name_with_bom_and_spreadsheet_padding(tmp_path: Path) -> None:
    content = "\ufeffdate,type,name\r\n2099-01-01,holiday,\r\n,,\r\n# note: exported from a spreadsheet,,\r\n"
    imported = load_overrides(write(tmp_path, "holidays_2099.csv", content))
    assert imported == ImportedYear(2099, "", (DayOverride(date(2099, 1, 1), False, ""),))
    padded = "# year: 2099,,\ndate,type,name\n2099-01-01,holiday,x\n"
    assert load_overrides(write(tmp_path, "export.CSV", padded)).year == 2099


def test_parse_type() -> None:
    assert [parse_type(t) for t in ("holiday", " HOLIDAY ", "休", "workday", "班", "rest", "")] == [
        False, False, False, True, True, None, None,
    ]  # fmt: skip


def entry(index: int, **changes: Any) -> list[dict[str, Any]]:
    days = [dict(d) for d in DAYS]
    days[index].update(changes)
    return days


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"year": 2099, "source": "x", "days": [', "line 1 column"),
        ("[]", "top level must be an object"),
        ({"year": 2099, "days": DAYS}, "missing source"),
        (document(note="x"), "unexpected note"),
        (document(year="2099"), "as a number"),
        (document(year=True), "not a year number"),
        (document(year=2099.0), "not a year number"),
        (document(source=" "), "source: give the title"),
        (document(days={"2099-01-01": "holiday"}), "days: must be a list"),
        (document(days=[]), "lists no days for 2099"),
        (document(days=["2099-01-01"]), r"days\[0\] \(entry 1\): must be an object"),
        (document(days=entry(1, day="x")), r"days\[1\] \(entry 2\): keys must be"),
        (document(days=[{"date": "2099-01-01", "name": "x"}]), "keys must be date, type"),
        (document(days=entry(2, date="2099/01/03")), r"days\[2\] \(entry 3\): date '2099/01/03' is not written"),
        (document(days=entry(2, date="2099-02-29")), "date '2099-02-29' does not exist"),
        (document(days=entry(2, date=20990103)), "is not written YYYY-MM-DD"),
        (document(days=entry(2, date="2098-12-31")), "2098-12-31 is not in the declared year 2099"),
        (document(days=entry(2, date="2099-01-01")), r"days\[2\] \(entry 3\): date 2099-01-01 is listed twice \(first at days\[0\]"),
        (document(days=entry(0, type="rest")), "type 'rest' is not one of holiday, workday, 休, 班"),
        (document(days=entry(0, type=None)), "type None is not one of"),
        (document(days=entry(0, type="workday")), "2099-01-01 is a Thursday, a working day anyway"),
        (document(days=entry(0, name=3)), "name 3 is not text"),
        ('{"year": 2099, "year": 2098, "source": "x", "days": []}', "key 'year' appears twice"),
    ],
)  # fmt: skip
def test_json_errors(tmp_path: Path, content: str | dict[str, Any], fragment: str) -> None:
    path = write(tmp_path, "calendar_2099_test.json", content)
    with pytest.raises(InvalidData, match=fragment) as caught:
        load_overrides(path)
    assert str(caught.value).startswith(str(path))
    assert caught.value.details["file"] == str(path)


HEADER = "# year: 2099\ndate,type,name\n"


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("x.csv", HEADER + "2099-01-01,holiday,x\n", None),  # control: valid
        ("schedule.csv", "date,type,name\n2099-01-01,holiday,x\n", "cannot tell which year"),
        ("2098_to_2099.csv", "date,type,name\n2099-01-01,holiday,x\n", "cannot tell which year"),
        ("x.csv", "# year: next\ndate,type,name\n", "line 1: year 'next' is not a year number"),
        ("x.csv", "# year: 2099\n# year: 2099\ndate,type,name\n", "line 2: '# year' declared twice"),
        ("x.csv", "# year: 2099\n", "no header"),
        (
            "x.csv",
            "# year: 2099\ndate,type\n2099-01-01,holiday\n",
            "line 2: the header must be date,type,name",
        ),
        ("x.csv", "# year: 2099\nday,kind,name\n", "line 2: the header must be date,type,name"),
        ("x.csv", HEADER, "lists no days for 2099"),
        ("x.csv", HEADER + "2099-01-01,holiday\n", "line 3: expected 3 fields"),
        ("x.csv", HEADER + "2099-01-01,holiday,x,y\n", "line 3: expected 3 fields"),
        ("x.csv", HEADER + "2099-1-1,holiday,x\n", "line 3: date '2099-1-1' is not written YYYY-MM-DD"),
        ("x.csv", HEADER + "2099-13-01,holiday,x\n", "line 3: date '2099-13-01' does not exist"),
        (
            "x.csv",
            HEADER + "2098-10-01,holiday,x\n",
            "line 3: date 2098-10-01 is not in the declared year 2099",
        ),
        ("holidays_2099.csv", "date,type,name\n2098-10-01,holiday,x\n", "not in the declared year 2099"),
        (
            "x.csv",
            HEADER + "2099-01-01,holiday,x\n\n2099-01-01,休,y\n",
            r"line 5: date 2099-01-01 is listed twice \(first at line 3\)",
        ),
        ("x.csv", HEADER + "2099-01-01,假,x\n", "line 3: type '假' is not one of"),
        ("x.csv", HEADER + "2099-01-05,班,x\n", "line 3: 2099-01-05 is a Monday, a working day anyway"),
    ],
)
def test_csv_errors(tmp_path: Path, name: str, content: str, fragment: str | None) -> None:
    path = write(tmp_path, name, content)
    if fragment is None:
        assert load_overrides(path).days == (DayOverride(date(2099, 1, 1), False, "x"),)
        return
    with pytest.raises(InvalidData, match=fragment) as caught:
        load_overrides(path)
    assert str(caught.value).startswith(str(path))


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidData, match="unknown calendar file type '.txt'"):
        load_overrides(write(tmp_path, "calendar_2099.txt", CSV))
    with pytest.raises(InvalidData, match="cannot read the file"):
        load_overrides(tmp_path / "missing_2099.csv")
    with pytest.raises(InvalidData, match="not UTF-8 text"):
        load_overrides(write(tmp_path, "gbk_2099.csv", "date,type,name\n2099-01-01,休,测试\n".encode("gbk")))

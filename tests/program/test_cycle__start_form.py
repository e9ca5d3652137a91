"""Opening a cycle: the start data must fit the start event's form (``forms/cycle_start.json``) as
task data fits its task's form. A misfit names the fields at fault and leaves no case behind; the
checks a schema cannot make stay with the ``validate_cycle`` handler."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from web.demo_data import DISTRICTS, cycle_data
from web.demo_driver import Program
from workflow.errors import InvalidData
from workflow.store import Instance


def cases(program: Program) -> int:
    with program.db.read() as session:
        return int(session.execute(select(func.count()).select_from(Instance)).scalar_one())


def test_start_data_that_does_not_fit_the_start_form_is_refused(program: Program) -> None:
    good = cycle_data(DISTRICTS[:2])
    missing = {key: value for key, value in good.items() if key != "deadlines"}
    wrong_type = {**good, "notice_workdays": "five"}
    before = cases(program)
    with pytest.raises(InvalidData, match="The data does not fit the form .*Nothing was saved") as missing_error:
        program.start("creation_cycle", missing)
    assert [p["field"] for p in missing_error.value.details["errors"]] == ["deadlines"]
    with pytest.raises(InvalidData) as type_error:
        program.start("creation_cycle", wrong_type)
    assert [p["field"] for p in type_error.value.details["errors"]] == ["notice_workdays"]
    assert cases(program) == before

    program.start("creation_cycle", good)
    assert cases(program) > before

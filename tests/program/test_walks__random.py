"""Randomized walks over the four programme diagrams under the state oracle (``tests/program/walks.py``).

Each test starts a suitable case and runs ``SHANYU_WALKS`` walks (default 3), each in a database of
its own, from a seed of its own, in cached or round-trip mode as its seed decides; after every
command the oracle compares each changed case with its reload, its serializer round trip and its
replay, and after each walk every history chain must verify and every case replay. A failure names
the seed: ``SHANYU_WALK_SEED=<seed>`` runs exactly that walk again (on the backend and diagram the
failure names). The seeds are fixed (the Nth walk of a diagram always has the same one), so a run
never depends on the time or on a previous run; ``SHANYU_WALKS_FROM=N`` starts at the Nth walk
(to resume a long run), and with ``-s`` each walk that passes says so.

* ``creation_cycle``: a cycle over one to four districts; the walk does everything, the cycle's
  tasks and the districts', the timers, objections and the State's result.
* ``district_application``: a cycle over two to six districts with its indicators issued; the walk
  works the district cases only (the cycle waits), deadlines pass and overdue tasks appear.
* ``title_management``: a cycle plays along the demo's path until one to three districts are named;
  the walk works their title management (annual reports, reviews, missed reports) and the
  revocation cases that findings or its own ``revocation_requested`` messages start.
* ``revocation``: as above, then a revocation case for one named district; the walk works
  revocation cases only, and may send more ``revocation_requested``.
"""

from __future__ import annotations

import os
import random
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tests.conftest import PgSchema, postgres_url
from tests.program.walks import (
    FORMS,
    FormData,
    Stats,
    Walker,
    break_form,
    form_schema,
    make_program,
    name_districts,
    open_cycle,
    start_revocation,
    validator,
)
from web.demo_driver import Program, check_history
from workflow.store import Database

WALKS_ENV = "SHANYU_WALKS"
SEED_ENV = "SHANYU_WALK_SEED"
FROM_ENV = "SHANYU_WALKS_FROM"


@dataclass(frozen=True)
class Diagram:
    processes: frozenset[str]  # whose tasks the walk completes
    prepare: Callable[[Program, random.Random], Sequence[str]]  # sets the case up; the district codes
    max_steps: int
    revocations: bool = False  # the walk sends revocation_requested on its own


def _cycle(p: Program, rnd: random.Random) -> Sequence[str]:
    return open_cycle(p, rnd, (1, 4), issue=False)[1]


def _districts(p: Program, rnd: random.Random) -> Sequence[str]:
    return open_cycle(p, rnd, (2, 6), issue=True)[1]


def _revocation(p: Program, rnd: random.Random) -> Sequence[str]:
    codes = name_districts(p, rnd)
    start_revocation(p, rnd, codes)
    return codes


DIAGRAMS = {
    "creation_cycle": Diagram(frozenset({"creation_cycle", "district_application"}), _cycle, 50),
    "district_application": Diagram(frozenset({"district_application"}), _districts, 40),
    "title_management": Diagram(frozenset({"title_management", "revocation"}), name_districts, 40, True),
    "revocation": Diagram(frozenset({"revocation"}), _revocation, 30, True),
}


def seeds(diagram: str) -> dict[int, int]:
    """Walk index -> seed: walks ``SHANYU_WALKS_FROM`` (default 0) up to ``SHANYU_WALKS`` (default
    3), or the one ``SHANYU_WALK_SEED``."""
    if os.environ.get(SEED_ENV):
        return {0: int(os.environ[SEED_ENV])}
    first, end = int(os.environ.get(FROM_ENV, "0")), int(os.environ.get(WALKS_ENV, "3"))
    return {index: zlib.crc32(f"{diagram}:{index}".encode()) for index in range(first, end)}


@contextmanager
def fresh_database(backend: str, path: Path) -> Iterator[Database]:
    """A database of its own for one walk, as the ``db`` fixture makes them."""
    if backend == "sqlite":
        database = Database(f"sqlite:///{path}")
        database.create_all()
        try:
            yield database
        finally:
            database.dispose()
        return
    schema = PgSchema(postgres_url() or "")
    database = schema.database()
    try:
        database.create_all()
        yield database
    finally:
        database.dispose()
        schema.drop()


def run_walks(name: str, backend: str, tmp_path: Path) -> Stats:
    diagram = DIAGRAMS[name]
    total = Stats()
    chosen = seeds(name)
    for index, seed in chosen.items():
        rnd = random.Random(seed)
        roundtrip = rnd.random() < 0.5
        with fresh_database(backend, tmp_path / f"walk-{index}.db") as db:
            program, oracle = make_program(db, roundtrip=roundtrip)
            walker: Walker | None = None
            try:
                districts = diagram.prepare(program, rnd)
                walker = Walker(program, oracle, rnd, diagram.processes, list(districts), diagram.revocations)
                stats = walker.walk(diagram.max_steps)
                assert oracle.checked > 0, "the oracle checked nothing"
                check_history(db)
            except Exception as exc:
                steps = walker.trace if walker is not None else ["(setting the case up)"]
                shown = "\n".join(f"  {n}. {s}" for n, s in enumerate(steps, 1))
                raise AssertionError(
                    f"{name} walk #{index} failed on {backend} ({'round trip' if roundtrip else 'cached'}) "
                    f"at step {len(steps)}: {type(exc).__name__}: {exc}\n"
                    f"Run it again: {SEED_ENV}={seed} .venv/bin/python -m pytest -q "
                    f"tests/program/test_walks__random.py -k '{name} and {backend}'\nSteps:\n{shown}"
                ) from exc
        total.add(stats)
        print(f"{name} on {backend}: walk #{index} passed", flush=True)  # progress, with -s
    print(f"\n{name} on {backend}: {len(chosen)} walks, {total.summary()}")
    for example in total.examples[:5]:
        print(f"  refused: {example}")
    # refusals are legitimate, but the walks must mostly make progress
    assert total.share("complete") >= 0.5, total.summary()
    assert total.share() >= 0.5, total.summary()
    return total


def test_form_data_fits_every_form() -> None:
    """The walks' data generator draws data every form accepts, uses every field of every form, and
    ``break_form`` makes data every form refuses (no database: this is the generator's own test)."""
    names = sorted(f"forms/{path.name}" for path in FORMS.glob("*.json"))
    assert len(names) == 25, names
    rnd = random.Random(2021)
    for name in names:
        seen: set[str] = set()
        for _ in range(60):
            draw = FormData(rnd, date(2022, 5, 10))
            data = draw.value(form_schema(name))
            errors = [e.message for e in validator(name).iter_errors(data)]
            assert not errors, f"{name}: {errors} in {data}"
            seen |= set(data)
            broken = break_form(data, form_schema(name), rnd)
            assert not validator(name).is_valid(broken), f"{name} accepts {broken}"
        assert seen == set(form_schema(name)["properties"]), f"{name}: never drew {set(form_schema(name)['properties']) - seen}"


def test_walks_creation_cycle(backend: str, tmp_path: Path) -> None:
    stats = run_walks("creation_cycle", backend, tmp_path)
    assert stats.ok["complete"] > 0


def test_walks_district_application(backend: str, tmp_path: Path) -> None:
    stats = run_walks("district_application", backend, tmp_path)
    assert stats.ok["complete"] > 0


def test_walks_title_management(backend: str, tmp_path: Path) -> None:
    stats = run_walks("title_management", backend, tmp_path)
    assert stats.ok["timer"] > 0


def test_walks_revocation(backend: str, tmp_path: Path) -> None:
    stats = run_walks("revocation", backend, tmp_path)
    assert stats.ok["complete"] > 0

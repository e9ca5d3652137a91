"""Every string of the pages has its English, and the compiled catalog is the one the .po gives:
the template (messages.pot) is what the sources hold today, the English catalog translates each of
its messages, and messages.mo was compiled from messages.po (docs/web.md says how to update them)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "web" / "translations"


def ids(catalog: object) -> set[str]:
    return {str(m.id) for m in catalog if m.id}  # type: ignore[attr-defined]


def test_the_template_holds_every_string_of_the_sources(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "--no-location", "--sort-output", "-o", str(fresh), "."], cwd=ROOT, check=True,
                   capture_output=True)
    committed = read_po(io.BytesIO((TRANSLATIONS / "messages.pot").read_bytes()))
    assert ids(read_po(io.BytesIO(fresh.read_bytes()))) == ids(committed), "run the pybabel extract of docs/web.md"


def test_english_translates_every_message_and_the_mo_is_compiled_from_the_po() -> None:
    template = ids(read_po(io.BytesIO((TRANSLATIONS / "messages.pot").read_bytes())))
    po = read_po(io.BytesIO((TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po").read_bytes()))
    untranslated = sorted(str(m.id) for m in po if m.id and not m.string)
    assert untranslated == []
    assert template <= ids(po)
    mo = read_mo(io.BytesIO((TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo").read_bytes()))
    assert {str(m.id): m.string for m in mo if m.id} == {str(m.id): m.string for m in po if m.id}

"""The HTML report from its Jinja2 template: the default look, and a plant's override
folder (logo, header, language, a template of its own) refused in one line when broken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.fleet.report import Report, Section, Table, render_html
from desktop.fleet.report_html import ReportTemplateError, template_dir

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")


def report() -> Report:
    sec = Section("Severity <ISO 20816-3>", ["zone B & rising"],
                  [Table(["zone", "mm/s"], [["B", "2.1"]], caption="blocks")])
    return Report("Report on <pump>.csv", "/data/pump.csv", [("file", "pump.csv")], [sec])


def test_the_default_template_escapes_and_keeps_the_page_self_contained(
        tmp_path: Path) -> None:
    text = render_html(report(), tmp_path / "none")
    assert text.startswith("<!DOCTYPE html>") and '<html lang="en">' in text
    assert "<h1>Report on &lt;pump&gt;.csv</h1>" in text
    assert "<tr><th>zone</th><th>mm/s</th></tr>" in text and "<td>B</td><td>2.1</td>" in text
    assert "<p>zone B &amp; rising</p>" in text and "<header>" not in text
    assert "<script" not in text and "http" not in text


def test_the_override_folder_gives_logo_header_and_language(linewatch_home: Path) -> None:
    folder = template_dir()
    assert folder == linewatch_home / "config" / "report-templates"
    folder.mkdir(parents=True)
    (folder / "logo.png").write_bytes(PNG_1PX)
    (folder / "report.json").write_text(json.dumps({
        "header": "Werk 3 <Zustand>", "language": "de",
        "words": {"generated": "Erstellt mit Linewatch"}}), encoding="utf-8")
    text = render_html(report())
    assert '<html lang="de">' in text and "<div>Werk 3 &lt;Zustand&gt;</div>" in text
    assert '<img alt="logo" src="data:image/png;base64,' in text
    assert "Erstellt mit Linewatch" in text
    (folder / "report.html.j2").write_text(
        "<html lang='{{ lang }}'>{{ header }}: {% for s in report.sections %}"
        "{{ s.title }}{% endfor %}</html>", encoding="utf-8")
    assert render_html(report()) == ("<html lang='de'>Werk 3 &lt;Zustand&gt;: "
                                     "Severity &lt;ISO 20816-3&gt;</html>")


@pytest.mark.parametrize(("name", "content", "says"), [
    ("report.html.j2", "{% for s in report.sections %}", "report.html.j2, line 1"),
    ("report.html.j2", "{{ report.__class__.__mro__ }}", "report.html.j2"),  # sandboxed
    ("report.json", '{"header": 3}', 'must be an object with text "header"'),
    ("report.json", "{nope", "cannot be read"),
])
def test_a_broken_override_is_refused_in_one_line(tmp_path: Path, name: str, content: str,
                                                  says: str) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(ReportTemplateError) as info:
        render_html(report(), tmp_path)
    assert says in str(info.value) and "\n" not in str(info.value)

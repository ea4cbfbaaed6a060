"""The HTML rendering of CDA documents: content shown, active content inert."""

from __future__ import annotations

import re

import pytest
from conftest import CDA_EXAMPLES as EXAMPLES

from cda import CSP, NotCda, render_html

HOSTILE = b"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:x="http://www.w3.org/1999/xhtml">
  <id root="1.2.3.4" extension="666"/>
  <title>Evil &lt;script&gt;alert(1)&lt;/script&gt;</title>
  <effectiveTime value="20240101120000+0100"/>
  <recordTarget><patientRole><id root="1.2.250.1.213.1.4.8" extension="277076322082910"/>
    <patient><name><family>O"Brien onload=alert(2)</family>
      <given>&lt;img src=x onerror=alert(3)&gt;</given></name></patient>
  </patientRole></recordTarget>
  <component><structuredBody><component><section>
    <title>Notes</title>
    <text>
      <paragraph>before<x:script>alert(4)</x:script>after</paragraph>
      <script>alert(5)</script>
      <content ID="c1" styleCode="Bold" onload="alert(6)" style="background:url(http://evil.example/x)">bold</content>
      <linkHtml href="javascript:alert(7)" onclick="alert(8)">click me</linkHtml>
      <linkHtml href="https://evil.example/track.png">remote</linkHtml>
      <renderMultiMedia referencedObject="img1"/>
      <table onmouseover="alert(9)"><tbody><tr><td>cell</td></tr></tbody></table>
    </text>
  </section></component></structuredBody></component>
</ClinicalDocument>
"""


def tags(html: str) -> list[str]:
    return re.findall(r"<\s*([a-zA-Z0-9]+)", html)


def attributes(html: str) -> list[str]:
    """Every attribute name written inside a tag."""
    found = []
    for tag in re.findall(r"<[a-zA-Z][^>]*>", html):
        found += re.findall(r"\s([a-zA-Z-]+)=", tag)
    return found


def assert_inert(html: str) -> None:
    assert "script" not in tags(html)
    assert not [a for a in attributes(html) if a.lower().startswith("on")]
    assert not re.search(r"(src|href)\s*=\s*\"(?!data:application/pdf;base64,)", html)
    assert f'content="{CSP}"' in html
    assert "default-src 'none'" in CSP


def render(name: str) -> str:
    return render_html((EXAMPLES / name).read_bytes())


def test_vaccination_note_shows_header_and_table() -> None:
    html = render("VAC-NOTE_2023.01.xml")
    assert "<h1>NOTE DE VACCINATION</h1>" in html
    assert "<dd>PAT-TROIS DOMINIQUE</dd>" in html
    assert "<dd>2021-04-09 15:35 +0100</dd>" in html
    assert "<h2>Note de vaccination</h2>" in html
    assert "<th>Voie d&#x27;administration</th>" in html
    assert "<td>4456672</td>" in html
    assert "Cabinet Médical du Dr MULLER" in html
    assert_inert(html)


def test_biology_report_shows_sections_and_authors() -> None:
    html = render("BIO-CR-BIO_2024.01_TSH_1.xml")
    assert "<dt>Author</dt>" in html and "CAMPARINI" in html
    assert html.count("<section>") >= 2
    assert "TSH" in html
    assert_inert(html)


def test_level_one_pdf_is_offered_as_a_download_not_shown() -> None:
    html = render("IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml")
    assert "Embedded document (application/pdf," in html
    [link] = re.findall(r"<a [^>]*>", html)
    assert link.startswith('<a download="document.pdf" href="data:application/pdf;base64,JVBER')
    assert "<iframe" not in html and "<embed" not in html and "<object" not in html
    assert_inert(html)


@pytest.mark.parametrize("name", ["TLM-CR_2022.01.xml", "eP-MED-DM_2024.01_PosoNonStruct.xml"])
def test_other_kinds_render_inert(name: str) -> None:
    assert_inert(render(name))


def test_hostile_narrative_renders_inert() -> None:
    html = render_html(HOSTILE)
    assert_inert(html)
    assert "<title>Evil &lt;script&gt;alert(1)&lt;/script&gt;</title>" in html
    assert "O&quot;Brien onload=alert(2)" in html
    assert "&lt;img src=x onerror=alert(3)&gt;" in html
    assert "alert(4)" in html and "alert(5)" in html  # as text
    assert "<strong>bold</strong>" in html
    assert "alert(6)" not in html and "evil.example/x" not in html  # attributes never copied
    assert "<span>click me (javascript:alert(7))</span>" in html
    assert "alert(8)" not in html and "alert(9)" not in html
    assert "<span>remote (https://evil.example/track.png)</span>" in html
    assert "[multimedia content not shown]" in html


def test_non_cda_cannot_be_rendered() -> None:
    with pytest.raises(NotCda):
        render_html(b"<html><script>alert(1)</script></html>")

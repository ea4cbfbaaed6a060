"""Browser-test helpers: axe-core (Deque, MPL-2.0, 4.14.1, copied into tests/data/axe) run in
the page by Selenium, and a click that waits for the page it leads to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver.remote.webdriver import WebDriver

AXE = (Path(__file__).parent / "data" / "axe" / "axe.min.js").read_text(encoding="utf-8")


def serious_violations(browser: WebDriver) -> list[dict[str, Any]]:
    """The page's serious and critical accessibility violations (WCAG 2 A/AA rules)."""
    browser.execute_script(AXE)  # through WebDriver: the page's CSP does not apply
    result = browser.execute_async_script(
        """const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21aa"]}})
           .then(r => done(r.violations), e => done([{id: "axe-error", impact: "critical",
                                                        description: String(e), nodes: []}]));"""
    )
    return [
        {"id": v["id"], "impact": v["impact"], "description": v["description"],
         "nodes": [n.get("html", "")[:200] for n in v.get("nodes", [])][:3]}
        for v in result
        if v.get("impact") in ("serious", "critical")
    ]  # fmt: skip


def follow(browser: WebDriver, element: Any, timeout: float = 20, *, watched: Any = None) -> None:
    """Click a link or a submit button and wait for the page it leads to (the old one gone:
    `element`, or `watched`, an element of the old page that the click does not remove).

    chromedriver tells that the element is gone by a stale-reference error or, when the new
    page arrived mid-question, by an inspector error ("Node ... does not belong to the
    document"): both mean the old page is gone."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.wait import WebDriverWait

    old = watched if watched is not None else element

    def gone(_browser: WebDriver) -> bool:
        try:
            old.is_enabled()
        except WebDriverException:
            return True
        return False

    element.click()
    WebDriverWait(browser, timeout).until(gone)

"""The audit's own checks catch what they claim to (a page built to fail each of them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.checks import Audit, error_summary_problems
from tests.browser.conftest import new_context

pytestmark = pytest.mark.browser

BAD_PAGE = """<!doctype html><html lang="fr"><head><title>Mauvaise page</title><style>
  .tiny { width: 16px; height: 16px; padding: 0; border: 0; }
  .wide { width: 900px; }
  a.no-ring:focus, a.no-ring:focus-visible { outline: none; box-shadow: none; }
  .clip { display: inline-block; width: 30px; overflow: hidden; white-space: nowrap; }
</style></head><body><main>
  <h1>Mauvaise page</h1>
  <div class="wide">Trop large</div>
  <button class="tiny">x</button><button class="tiny">y</button>
  <form method="post"><button type="submit" class="fr-btn">Envoyer</button></form>
  <a class="no-ring" href="#ici">Sans anneau</a>
  <a class="fr-btn clip" href="#la">Un libellé coupé</a>
  <input type="number" id="age" aria-label="Âge">
  <input type="radio" name="choix" id="c1"><label for="c1">Un</label>
  <input type="radio" name="choix" id="c2"><label for="c2">Deux</label>
  <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
</main></body></html>"""


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_the_audit_reports_each_kind_of_problem(
    browser: Any, base_url: str, axe_source: str, screenshots: Path, javascript: bool
) -> None:
    context = new_context(browser, base_url, javascript=javascript)
    page = context.new_page()
    try:
        page.set_content(BAD_PAGE)
        audit = Audit(axe_source, screenshots, javascript=javascript)
        audit.check(page, "controle audit")
        summary = error_summary_problems(page)
    finally:
        context.close()
    found = "\n".join(audit.problems["controle audit"])
    assert "axe image-alt (critical)" in found
    assert "horizontal scroll at 320 px" in found
    assert 'target too small: button "x" is 16×16 px' in found
    assert 'primary button: "Envoyer"' in found
    if javascript:  # focus rings are CSS: checked in the JavaScript run only
        assert 'no visible focus on a "Sans anneau"' in found
        assert "no visible focus on a#" not in found  # the browser's own ring counts
        assert 'no visible focus on a "Un libellé coupé"' not in found
    assert '"Un libellé coupé" shows 30px' in found
    assert "#age is type=number" in found
    assert 'choices "choix" are not in a fieldset with a legend' in found
    assert summary == ["no error summary (#resume-erreurs)"]
    with pytest.raises(AssertionError, match="1 page"):
        audit.assert_clean()

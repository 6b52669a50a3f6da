"""Per-page checks of the browser suite: axe-core, layout at 320 px, target sizes, focus, screenshots.

`Audit` runs every check on the page currently shown and collects the problems of every page so
that one run reports all of them (rule id, impact and selectors for axe) instead of stopping at
the first page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
NARROW = {"width": 320, "height": 640}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
MIN_TARGET = 24  # WCAG 2.2 SC 2.5.8 (AA)
MIN_PRIMARY_HEIGHT = 44  # our rule for the main button of a form (thumb on a phone)

# With JavaScript off, DevTools evaluation still runs but timers never fire, and axe.run defers
# its steps with setTimeout: run them as microtasks instead (only for the audit's own code).
MICROTASK_TIMERS = """
() => {
  window.setTimeout = (fn, _ms, ...args) => { Promise.resolve().then(() => fn(...args)); return 0; };
  window.clearTimeout = () => {};
}
"""

AXE_RUN = """
async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')),
  }));
}
"""

# Interactive targets smaller than 24×24 CSS px that are neither inline links in a sentence nor
# spaced enough (WCAG 2.5.8: a 24 px circle centred on the target touches no other target).
SMALL_TARGETS = """
(min) => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]';
  const describe = el => {
    const tag = el.tagName.toLowerCase();
    const id = el.id ? '#' + el.id : '';
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40);
    return `${tag}${id} "${text}"`;
  };
  const rectOf = el => {
    // DSFR radios and checkboxes are drawn by their label: the label is the target.
    if (el.matches('input[type=radio], input[type=checkbox]') && el.labels && el.labels.length) {
      return el.labels[0].getBoundingClientRect();
    }
    return el.getBoundingClientRect();
  };
  const shown = el => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.display === 'none') return false;
    if (el.closest('[aria-hidden=true], .fr-sr-only, details:not([open]) > :not(summary)')) return false;
    if (r.bottom + scrollY <= 0) return false;  // skip links parked above the page
    if (el.matches('input[type=radio], input[type=checkbox]')) return true;
    return r.width > 1 && r.height > 1;
  };
  const inlineInText = el => {
    if (el.tagName !== 'A' || getComputedStyle(el).display !== 'inline') return false;
    const block = el.parentElement.closest('p, li, td, th, dd, span, legend, label, div');
    return block && block.innerText.trim().length > el.innerText.trim().length;
  };
  const targets = [...document.querySelectorAll(selector)].filter(shown).map(el => ({el, r: rectOf(el)}));
  const small = t => t.r.width < min - 0.5 || t.r.height < min - 0.5;
  const centre = r => [r.left + r.width / 2, r.top + r.height / 2];
  const distanceToRect = ([x, y], r) => Math.hypot(
    Math.max(r.left - x, 0, x - r.right), Math.max(r.top - y, 0, y - r.bottom));
  const problems = [];
  for (const t of targets) {
    if (!small(t) || inlineInText(t.el)) continue;
    const c = centre(t.r);
    const crowded = targets.some(o => {
      if (o === t || o.el.contains(t.el) || t.el.contains(o.el)) return false;
      if (o.r.width === 0 || o.r.height === 0) return false;
      if (distanceToRect(c, o.r) < min / 2) return true;
      if (small(o)) { const d = centre(o.r); return Math.hypot(c[0] - d[0], c[1] - d[1]) < min; }
      return false;
    });
    if (crowded) problems.push(`${describe(t.el)} is ${Math.round(t.r.width)}×${Math.round(t.r.height)} px`);
  }
  return problems;
}
"""

# The main button of each data-entry form in the content (not the small search/filter buttons).
SMALL_PRIMARY = """
(min) => [...document.querySelectorAll('main form[method=post] button[type=submit].fr-btn')]
  .filter(b => !b.matches('.fr-btn--secondary, .fr-btn--tertiary, .fr-btn--tertiary-no-outline, .fr-btn--sm, .fr-sr-only'))
  .filter(b => b.getBoundingClientRect().height > 0)
  .filter(b => b.getBoundingClientRect().height < min - 0.5)
  .map(b => `"${b.innerText.trim()}" is ${Math.round(b.getBoundingClientRect().height)} px high`)
"""

# Every keyboard-focusable element, focused in turn (after one real Tab press, so Chromium treats
# the focus as keyboard focus and :focus-visible applies): it must gain an outline, or its
# box-shadow, border or background (on it, its ::before/::after or its label) must change.
UNFOCUSED_RINGS = """
() => {
  const selector = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]';
  const pseudos = [null, '::before', '::after'];
  const nodesOf = el => [el, ...(el.labels ? [...el.labels] : [])];
  const look = el => nodesOf(el).map(n => pseudos.map(p => {
    const s = getComputedStyle(n, p);
    return [s.outlineStyle, s.outlineWidth, s.boxShadow, s.borderColor, s.backgroundColor].join('|');
  }).join(';')).join('#');
  const outlined = el => nodesOf(el).some(n => pseudos.some(p => {
    const s = getComputedStyle(n, p);
    return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  }));
  const describe = el => {
    const name = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40);
    return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${name}"`;
  };
  const candidates = [...document.querySelectorAll(selector)]
    .filter(el => el.tabIndex >= 0 && el.checkVisibility({visibilityProperty: true}))
    .filter(el => !el.closest('details:not([open]) > :not(summary)'));
  const before = new Map(candidates.map(el => [el, look(el)]));
  const problems = [];
  for (const el of candidates) {
    el.focus({preventScroll: true});
    if (document.activeElement !== el) continue;
    if (!outlined(el) && look(el) === before.get(el)) problems.push(describe(el));
  }
  return problems;
}
"""

# Buttons whose visible label is cut off: the DSFR turns a button with an icon into an icon-only
# square (overflow hidden, 2rem wide) unless its group says where the icon goes.
CLIPPED_LABELS = """
() => [...document.querySelectorAll('.fr-btn, .fr-link')]
  .filter(el => el.getBoundingClientRect().width > 0 && !el.closest('.fr-sr-only'))
  .map(el => ({el, label: [...el.childNodes].filter(n => n.nodeType === Node.TEXT_NODE)
    .map(n => n.textContent).join('').trim()}))
  .filter(({el, label}) => label && getComputedStyle(el).overflow !== 'visible' &&
    el.scrollWidth > el.clientWidth + 1)
  .map(({el, label}) => `"${label}" shows ${el.clientWidth}px of ${el.scrollWidth}px`)
"""

# Form conventions: digits get the numeric keypad (never type=number), groups of choices sit in a
# fieldset with a legend, and a beneficiary's name is never autofilled with the mediator's own.
FORM_HYGIENE = """
() => {
  const problems = new Set();
  for (const i of document.querySelectorAll('main input[type=number]')) {
    problems.add(`#${i.id} is type=number (use type=text inputmode=numeric)`);
  }
  for (const i of document.querySelectorAll('main input[pattern="[0-9]*"]:not([inputmode=numeric])')) {
    problems.add(`#${i.id} takes digits without inputmode=numeric`);
  }
  for (const i of document.querySelectorAll('main input[type=radio], main input[type=checkbox]')) {
    const group = document.querySelectorAll(`main input[name="${CSS.escape(i.name)}"]`).length > 1;
    const fieldset = i.closest('fieldset');
    if (group && !(fieldset && fieldset.querySelector(':scope > legend'))) {
      problems.add(`choices "${i.name}" are not in a fieldset with a legend`);
    }
  }
  for (const i of document.querySelectorAll('form.coop-beneficiaire #prenom, form.coop-beneficiaire #nom')) {
    if (i.getAttribute('autocomplete') !== 'off') problems.add(`#${i.id} (a beneficiary's name) lacks autocomplete=off`);
  }
  return [...problems];
}
"""

OVERFLOW = """
() => {
  const root = document.scrollingElement;
  if (root.scrollWidth <= root.clientWidth) return null;
  const culprits = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > root.clientWidth + 0.5)
    .filter(el => !el.closest('.coop-scroll-x, .fr-sr-only, .fr-table__wrapper'))
    .slice(0, 5)
    .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : ''));
  return `scrollWidth ${root.scrollWidth} > clientWidth ${root.clientWidth}: ${culprits.join(', ')}`;
}
"""


@dataclass
class Audit:
    """Collects the problems of every page checked; `assert_clean()` fails with all of them."""

    axe_source: str
    screenshots: Path
    javascript: bool = True
    problems: dict[str, list[str]] = field(default_factory=dict)
    pages: list[str] = field(default_factory=list)

    def check(self, page: Any, name: str, *, focus: bool = True) -> None:
        """Every check on the page as it is now (the page is left at the same URL and state)."""
        self.pages.append(name)
        page.wait_for_load_state("load")
        page.screenshot(path=str(self.screenshots / f"{slug(name)}.png"), full_page=True)
        found: list[str] = []
        if not self.javascript:
            page.evaluate(MICROTASK_TIMERS)
        found += axe_violations(page, self.axe_source)
        found += [f"target too small: {p}" for p in page.evaluate(SMALL_TARGETS, MIN_TARGET)]
        found += [f"primary button: {p}" for p in page.evaluate(SMALL_PRIMARY, MIN_PRIMARY_HEIGHT)]
        found += [f"form: {p}" for p in page.evaluate(FORM_HYGIENE)]
        found += [f"label cut off: {p}" for p in page.evaluate(CLIPPED_LABELS)]
        found += overflow_at_320(page)
        # Focus rings are pure CSS: the JavaScript run covers them (this keeps the suite fast).
        if focus and self.javascript:
            found += invisible_focus(page)
        if found:
            self.problems.setdefault(name, []).extend(found)

    def add(self, name: str, problem: str) -> None:
        self.problems.setdefault(name, []).append(problem)

    def assert_clean(self) -> None:
        if self.problems:
            report = "\n".join(
                f"[{name}]\n" + "\n".join(f"  - {problem}" for problem in found)
                for name, found in self.problems.items()
            )
            raise AssertionError(f"{len(self.problems)} page(s) with problems:\n{report}")


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def axe_violations(page: Any, axe_source: str) -> list[str]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the page's CSP (no inline script) still holds.
        page.evaluate(axe_source)
    violations = page.evaluate(AXE_RUN, AXE_TAGS)
    return [
        f"axe {v['id']} ({v['impact']}): {v['help']} — {', '.join(v['targets'][:6])}"
        for v in violations
    ]


def overflow_at_320(page: Any) -> list[str]:
    page.set_viewport_size(NARROW)
    try:
        overflow = page.evaluate(OVERFLOW)
    finally:
        page.set_viewport_size(PHONE)
    return [f"horizontal scroll at 320 px: {overflow}"] if overflow else []


def invisible_focus(page: Any) -> list[str]:
    """Every focusable element must show that it has the keyboard focus."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    page.keyboard.press("Tab")  # keyboard modality: later script focus is :focus-visible too
    problems = page.evaluate(UNFOCUSED_RINGS)
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    return [f"no visible focus on {problem}" for problem in problems]


def error_summary_problems(page: Any) -> list[str]:
    """After a failing submission: a focused summary, before every field, linking to them."""
    problems: list[str] = []
    summary = page.locator("#resume-erreurs")
    if summary.count() != 1:
        return ["no error summary (#resume-erreurs)"]
    if not page.title().startswith("Erreur"):
        problems.append(f"the title does not start with « Erreur » ({page.title()})")
    # `autofocus` is HTML, not script: the summary must get the focus with JavaScript off too.
    focused = page.evaluate("() => document.activeElement && document.activeElement.id")
    if focused != "resume-erreurs":
        problems.append(f"the error summary is not focused (focus on {focused!r})")
    first = page.evaluate(
        """() => {
          const summary = document.getElementById('resume-erreurs');
          const fields = [...document.querySelectorAll('main input:not([type=hidden]), main select, main textarea, main button')];
          return fields.filter(f => !f.closest('#resume-erreurs') &&
            (summary.compareDocumentPosition(f) & Node.DOCUMENT_POSITION_PRECEDING)).map(f => f.name || f.id);
        }"""
    )
    if first:
        problems.append(f"fields come before the error summary: {first}")
    links = page.evaluate(
        """() => [...document.querySelectorAll('#resume-erreurs a')].map(a => {
          const target = document.getElementById(a.getAttribute('href').slice(1));
          return {href: a.getAttribute('href'), ok: !!target};
        })"""
    )
    if not links:
        problems.append("the error summary has no links")
    problems += [
        f"summary link {link['href']} points to nothing" for link in links if not link["ok"]
    ]
    return problems


def today() -> str:
    """Today in metropolitan France, as a date field holds it."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()

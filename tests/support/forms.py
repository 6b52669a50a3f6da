"""A browser's view of the activity form: its action and the controls it would submit (used by
the web tests and by `make bench`)."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.conftest import Page


class ActivityForm(HTMLParser):
    """The activity form as a browser submits it: its action and its successful controls."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = ""
        self.fields: dict[str, list[str]] = {}
        self.buttons: list[tuple[str, str]] = []  # (name, value) of each submit button, in order
        self._inside = False
        self._textarea: str | None = None
        self._text = ""
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self.feed(text)

    def _add(self, name: str, value: str) -> None:
        self.fields.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        flags = {k for k, _ in attrs}
        if tag == "form" and "coop-activite" in values.get("class", ""):
            self._inside, self.action = True, values.get("action", "")
        if self._inside and tag == "button" and values.get("type", "submit") == "submit":
            self.buttons.append((values.get("name", ""), values.get("value", "")))
        if not self._inside or not values.get("name"):
            if tag == "option" and self._select:
                self._options.append((values.get("value", ""), "selected" in flags))
            return
        name = values["name"]
        kind = values.get("type", "text")
        if tag == "input" and kind in ("radio", "checkbox"):
            if "checked" in flags:
                self._add(name, values.get("value", "on"))
        elif tag == "input" and kind not in ("submit", "button"):
            self._add(name, values.get("value", ""))
        elif tag == "textarea":
            self._textarea, self._text = name, ""
        elif tag == "select":
            self._select, self._options = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        elif tag == "textarea" and self._textarea is not None:
            self._add(self._textarea, self._text)
            self._textarea = None
        elif tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [self._options[0][0]]
            self._add(self._select, chosen[0])
            self._select = None

    def implicit(self, **changes: str | list[str] | None) -> dict[str, list[str]]:
        """What a browser posts when Enter is pressed in a text field (HTML "implicit
        submission"): the fields, with `changes` typed, and the form's default button (its
        first submit button) as if it had been clicked."""
        fields = dict(self.fields)
        for name, value in changes.items():
            if value is None:
                fields.pop(name, None)
            else:
                fields[name] = [value] if isinstance(value, str) else value
        name, value = self.buttons[0]
        if name:
            fields[name] = [value]
        return fields


def activity_form(page: Page) -> ActivityForm:
    form = ActivityForm(page.text)
    assert form.action, "no activity form on this page"
    return form

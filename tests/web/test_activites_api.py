from __future__ import annotations
import base64, json
from tests.conftest import Browser


def _b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def test_probe(browser: Browser) -> None:
    browser.sign_in("probe@example.org")
    browser.onboard()
    lieu = browser.api("GET", "/api/lieux").json()["items"][0]["id"]
    for i in range(3):
        p = browser.api("POST", "/api/activites", {"type": "individuel", "date": f"2025-01-0{i+1}", "duree": 30, "canal": "lieu_activite", "lieu_id": lieu, "thematiques": ["email"]})
        print(p.status, p.json())
    for c in [_b64(["ACT#zzz", "9999"]), _b64(["ACT#zzz", "zzzz"]), _b64({"ACT#x": 1, "y": 2}), _b64(["ACT#", ""]), "!!!", _b64(["ACT#a", "0000"])]:
        p = browser.api("GET", "/api/activites?cursor=" + c)
        print(c, p.status, p.text[:300])
    p = browser.api("GET", "/api/activites?du=2025-01-02&cursor=" + _b64(["ACT#a", "2024-01-01#a"]))
    print(p.status, p.text[:300])
    p = browser.get("/activites?apres=" + _b64(["ACT#zzz", "zzzz"]))
    print(p.status, p.text[-300:])

"""The blind human-preference page, driven over HTTP: pairs in, votes recorded, win rate out."""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request

import pytest

from evaluation.human import PreferenceStore, make_server

PAIRS = [
    {
        "id": f"p{i}",
        "question": f"Q{i} <b>bold?</b>",
        "model": "tuned",
        "baseline": "base",
        "model_answer": f"tuned answer {i}",
        "baseline_answer": f"base answer {i}",
    }
    for i in range(3)
]


@pytest.fixture
def page(tmp_path):
    store = PreferenceStore(tmp_path / "human.sqlite", seed=1)
    store.add_pairs(PAIRS)
    httpd = make_server(store, "127.0.0.1", 0)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", store
    httpd.shutdown()
    httpd.server_close()


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode()


def post(url, data: dict, as_json=False):
    body = json.dumps(data).encode() if as_json else urllib.parse.urlencode(data).encode()
    ctype = "application/json" if as_json else "application/x-www-form-urlencoded"
    req = urllib.request.Request(url, data=body, headers={"Content-Type": ctype}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_round_trip(page):
    base, _ = page
    status, html = get(base + "/")
    assert status == 200 and "Which answer is better?" in html
    assert "&lt;b&gt;bold?&lt;/b&gt;" in html and "<b>bold?</b>" not in html  # escaped
    assert "tuned" not in html.replace("tuned answer", "")  # blind: no model name on the page

    wanted = {}  # vote for the tuned answer on every pair, whichever side it is on
    sides = set()
    for _ in range(3):
        nxt = json.loads(get(base + "/api/next")[1])
        left_is_tuned = nxt["left"].startswith("tuned")
        sides.add(left_is_tuned)
        choice = "left" if left_is_tuned else "right"
        wanted[nxt["pair_id"]] = choice
        assert (
            post(base + "/vote", {"presentation": nxt["presentation"], "choice": choice}, as_json=True)[0]
            == 200
        )
    assert len(wanted) == 3  # the fewest-votes rule showed each pair once

    # one more through the HTML form: a tie (303 redirect back to the page, followed by urllib)
    nxt = json.loads(get(base + "/api/next")[1])
    status, _ = post(base + "/vote", {"presentation": nxt["presentation"], "choice": "tie"})
    assert status == 200

    res = json.loads(get(base + "/api/results")[1])
    assert (res["votes"], res["wins"], res["ties"], res["losses"]) == (4, 3, 1, 0)
    assert res["win_rate"] == pytest.approx(3.5 / 4)
    assert res["model"] == "tuned" and res["baseline"] == "base"


def test_bad_votes_are_rejected(page):
    base, _ = page
    nxt = json.loads(get(base + "/api/next")[1])
    assert (
        post(base + "/vote", {"presentation": nxt["presentation"], "choice": "both"}, as_json=True)[0] == 400
    )
    assert post(base + "/vote", {"presentation": 9999, "choice": "left"}, as_json=True)[0] == 400
    assert json.loads(get(base + "/api/results")[1])["votes"] == 0


def test_sides_are_randomised(tmp_path):
    store = PreferenceStore(tmp_path / "h.sqlite", seed=0)
    store.add_pairs(PAIRS[:1])
    lefts = {store.next_presentation()["left"] for _ in range(40)}
    assert lefts == {"tuned answer 0", "base answer 0"}


def test_results_before_any_vote_are_valid_json(page):
    base, _ = page
    res = json.loads(get(base + "/api/results")[1])  # strict JSON: no NaN
    assert res["votes"] == 0 and res["win_rate"] is None and res["ci_low"] is None

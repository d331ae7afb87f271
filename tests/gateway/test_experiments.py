"""A/B between two served model ids, sticky per user or key, named in a header and the ledger, with
per-variant figures; feedback on answers, and its export as training data that passes the data gates."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from server.gateway.experiments import Experiment, parse_experiments
from training import feedback as feedback_export
from training.dataprep.schema import check_dpo, check_sft, read_jsonl

from .conftest import EXPERIMENT, client_for, ledger_rows

QUESTION = [{"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "How do I list open ports on Linux?"}]


def _ask(client: openai.OpenAI, user: str | None = None, messages=QUESTION, max_tokens: int = 1):
    kw = {"user": user} if user else {}
    return client.chat.completions.with_raw_response.create(model=EXPERIMENT, messages=messages,
                                                            max_tokens=max_tokens, **kw)


def test_variants_are_sticky_per_user_and_named_in_header_and_ledger(gateway_server, new_key):
    secret, record = new_key("ab-user")
    client = client_for(gateway_server, secret)
    seen: dict[str, str] = {}
    for round_ in range(2):
        for i in range(12):
            raw = _ask(client, user=f"engineer-{i}")
            variant = raw.headers["x-aletheia-variant"]
            assert raw.parse().model == variant  # the response names the model id that answered
            assert seen.setdefault(f"engineer-{i}", variant) == variant  # the same user, the same variant
    assert set(seen.values()) == {"ops-v1", "ops-v2"}
    expected = Experiment.parse(f"{EXPERIMENT}=ops-v1:1,ops-v2:1")
    assert all(expected.assign(user) == variant for user, variant in seen.items())
    # without a user field the key is the identity: every request of one key gets one variant
    assert len({_ask(client).headers["x-aletheia-variant"] for _ in range(4)}) == 1

    rows = ledger_rows(gateway_server.database_url, "key_id = :k", k=record["id"])
    assert len(rows) == 28
    for row in rows:
        assert row["model"] == EXPERIMENT and row["experiment"] == EXPERIMENT
        assert row["variant"] == row["served_model"] and (not row["user"] or row["variant"] == seen[row["user"]])


def test_scopes_see_the_experiment_name(gateway_server, new_key):
    secret, _ = new_key("ab-scoped", models=[EXPERIMENT])
    client = client_for(gateway_server, secret)
    assert _ask(client, user="x").parse().choices
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="ops-v1", messages=QUESTION, max_tokens=1)


def test_feedback_and_per_variant_figures_and_export(gateway_server, new_key, admin_http, tmp_path):
    secret, _ = new_key("feedback-user")
    client = client_for(gateway_server, secret)
    http = httpx.Client(base_url=gateway_server.base_url, headers={"Authorization": f"Bearer {secret}"},
                        timeout=60)
    answers = []
    for i in range(6):
        reply = _ask(client, user=f"fb-{i}", messages=[QUESTION[0], {"role": "user", "content":
                                                                        f"Question {i}: how do I list open ports?"}],
                     max_tokens=6)
        answers.append(reply.parse())
    ups, down = answers[:4], answers[4]
    for a in ups:
        r = http.post("/feedback", json={"response_id": a.id, "rating": "up"})
        assert r.status_code == 200 and r.json()["rating"] == 1
    preferred = "Run `ss -tlnp` (or `lsof -i -P -n | grep LISTEN`) to see listening TCP ports and their processes."
    r = http.post("/feedback", json={"response_id": down.id, "rating": -1, "comment": "too vague",
                                     "preferred": preferred})
    assert r.status_code == 200
    r = http.post("/feedback", json={"response_id": answers[5].id, "rating": "down"})  # no preferred answer
    assert r.status_code == 200

    missing = http.post("/feedback", json={"response_id": "chatcmpl-nope", "rating": "up"})
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "response_id"
    bad = http.post("/feedback", json={"response_id": down.id, "rating": 5})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "rating"

    [exp] = admin_http.get("/v1/experiments").json()["data"]
    assert exp["name"] == EXPERIMENT and exp["weights"] == {"ops-v1": 1.0, "ops-v2": 1.0}
    figures = {v["variant"]: v for v in exp["variants"]}
    assert set(figures) == {"ops-v1", "ops-v2"}
    rows = ledger_rows(gateway_server.database_url, "experiment = :e", e=EXPERIMENT)
    for name, fig in figures.items():
        assert fig["requests"] == sum(1 for r in rows if r["variant"] == name)
        lat = fig["latency_ms"]
        assert lat["n"] >= 2 and lat["ci95"][0] <= lat["mean"] <= lat["ci95"][1]
    rated = sum(v["thumbs_up"]["n"] for v in figures.values())
    assert rated == 6 and sum(v["thumbs_up"]["share"] * v["thumbs_up"]["n"] for v in figures.values()
                              if v["thumbs_up"]["n"]) == pytest.approx(4)

    summary = feedback_export.export(gateway_server.database_url, tmp_path)
    assert summary["dropped"].get("rated down without a preferred answer", 0) >= 1
    sft = read_jsonl(tmp_path / "sft.jsonl", check_sft)  # the same gates as the hand-written data
    dpo = read_jsonl(tmp_path / "dpo.jsonl", check_dpo)
    by_answer = {r.data["messages"][-1]["content"] for r in sft}
    assert preferred in by_answer
    assert {a.choices[0].message.content.strip() for a in ups} <= by_answer
    [pair] = [r.data for r in dpo if r.data["chosen"][0]["content"] == preferred]
    assert pair["rejected"][0]["content"] == down.choices[0].message.content.strip()
    assert pair["prompt"][-1]["content"].startswith("Question 4") and pair["rejected_by"] == "user_feedback"


def test_feedback_export_cli(gateway_server, tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "training.feedback", "export", "--database-url",
                          gateway_server.database_url, "--out-dir", str(tmp_path)], check=False,
                         capture_output=True, text=True, timeout=120,
                         cwd=feedback_export.Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["sft_path"].endswith("sft.jsonl") and (tmp_path / "dpo.jsonl").exists()


def test_experiment_definitions_are_checked():
    exps = parse_experiments(["a=m1:3,m2:1", "b=m1,m2"])
    assert exps["a"].variants == (("m1", 3.0), ("m2", 1.0)) and exps["b"].variants == (("m1", 1.0), ("m2", 1.0))
    shares = [exps["a"].assign(f"user-{i}") for i in range(2000)]
    assert 0.70 < shares.count("m1") / len(shares) < 0.80  # weights 3:1
    for bad in ["nameonly", "x=m1:1", "x=m1:0,m2:1", "x=m1:a,m2:1", "x=m1,m1"]:
        with pytest.raises(ValueError):
            Experiment.parse(bad)
    with pytest.raises(ValueError):
        parse_experiments(["a=m1,m2", "a=m1,m2"])

"""The JSON API and the security middleware, in process (FastAPI's TestClient) with the fake encoder."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import fake_settings_in
from fastapi.testclient import TestClient

from assistant import Assistant
from assistant.api import Service
from assistant.feedback import FeedbackStore
from assistant.web import create_server, secured
from index.fake import FakeEncoder

BASE = "http://127.0.0.1"


@pytest.fixture(scope="module")
def api_assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The fake-encoder assistant, loaded once for the module (the API never changes it)."""
    settings = replace(fake_settings_in(tmp_path_factory.mktemp("index")), abstain_margin=-10)
    return Assistant.load(settings, encoder=FakeEncoder(), log_fn=lambda m: None)


@pytest.fixture()
def service(api_assistant: Assistant, tmp_path: Path) -> Service:
    settings = replace(api_assistant.settings, admin_token="s3cret", api_wait_s=0.2)
    assistant = replace(api_assistant, settings=settings)
    return Service(settings, FeedbackStore(f"sqlite:///{tmp_path / 'fb.sqlite3'}"), assistant)


@pytest.fixture()
def client(service: Service) -> TestClient:
    return TestClient(secured(create_server(service), service.settings), base_url=BASE)


def test_ask_returns_the_cli_json_object(client: TestClient) -> None:
    r = client.post("/api/ask", json={"q": "opieka wytchnieniowa", "top_k": 2, "lang": "en"})
    assert r.status_code == 200
    doc = r.json()
    assert {"answer_id", "question", "language", "reply_language", "abstained", "answers"} <= set(doc)
    assert doc["reply_language"] == "en" and len(doc["answers"]) == 2
    assert doc["answers"][0]["citations"][0]["source"] == "sources/krakow-miasto-rownych-szans.txt"
    assert doc["answers"][0]["report"]["edition"] == "2025"
    assert doc["help_contacts"] == []  # respite care: no help numbers
    violence = client.post(
        "/api/ask", json={"q": "pełnomocnik ds. przeciwdziałania przemocy w rodzinie", "top_k": 1, "lang": "en"}
    ).json()
    assert violence["answers"][0]["pledge_id"] == "powolamy-pelnomocnika-ds-przeciwdzialania-przemocy-w-rodzinie"
    assert {
        "phone": "800 120 002",
        "text": "Niebieska Linia — national helpline for people experiencing domestic violence (free)",
    } in violence["help_contacts"]  # a front end built on the API can show them too


@pytest.mark.parametrize(
    "body, status, fragment",
    [
        ({"q": "   "}, 400, "the question is empty"),
        ({"q": "\x00\x07"}, 400, "the question is empty"),
        ({"q": "123 456"}, 400, "has no words"),
        ({}, 422, "q: Field required"),
        ({"q": ""}, 422, "q: String should have at least 1 character"),
        ({"q": "pomoc", "top_k": 3.7}, 422, "top_k"),
        ({"q": "pomoc", "top_k": 0}, 422, "top_k"),
        ({"q": "pomoc", "top_k": 51}, 422, "top_k"),
        ({"q": "pomoc", "lang": "xx"}, 422, "lang"),
        ({"q": "pomoc", "report": "no-such-report"}, 404, "report 'no-such-report' is unknown"),
        ({"q": "pomoc", "qq": 1}, 422, "qq: Extra inputs are not permitted"),
    ],
)
def test_ask_errors_say_what_to_fix(client: TestClient, body: dict, status: int, fragment: str) -> None:
    r = client.post("/api/ask", json=body)
    assert r.status_code == status, r.text
    assert fragment in r.json()["error"] and "Traceback" not in r.text


def test_top_k_is_at_most_the_pledges_there_are(client: TestClient) -> None:
    assert len(client.post("/api/ask", json={"q": "opieka wytchnieniowa", "top_k": 12}).json()["answers"]) == 9


def test_questions_never_travel_in_urls(client: TestClient) -> None:
    r = client.get("/api/ask", params={"q": "mój mąż mnie bije"})
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert "POST /api/ask" in r.json()["error"] and "mąż" not in r.text
    trace = client.request("TRACE", "/api/pledges")
    assert trace.status_code == 405 and trace.headers["allow"] == "GET"
    assert client.delete("/api/feedback").headers["allow"] == "POST"
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404 and "/api/docs" in missing.json()["error"]


def test_pledges_and_one_pledge(client: TestClient) -> None:
    rows = client.get("/api/pledges").json()
    assert len(rows) == 9 and {"pledge_id", "title", "status_label", "citations", "report"} <= set(rows[0])
    one = client.get(f"/api/pledges/{rows[4]['pledge_id']}").json()
    assert one == rows[4]
    r = client.get("/api/pledges/no-such-pledge")
    assert r.status_code == 404 and "GET /api/pledges lists the ids" in r.json()["error"]


def test_feedback_votes_change_and_are_checked(client: TestClient) -> None:
    doc = client.post("/api/ask", json={"q": "opieka wytchnieniowa", "top_k": 2}).json()
    aid, first, second = doc["answer_id"], doc["answers"][0]["pledge_id"], doc["answers"][1]["pledge_id"]
    vote = lambda pid, v, reason=None: client.post(  # noqa: E731
        "/api/feedback", json={"answer_id": aid, "pledge_id": pid, "vote": v, "reason": reason}
    )
    assert vote(first, "up").json()["counts"] == {"up": 1, "down": 0}
    again = vote(first, "up")  # the same vote again: 200, the same state
    assert again.status_code == 200
    assert again.json() == {"pledge_id": first, "vote": "up", "counts": {"up": 1, "down": 0}}
    assert vote(first, "down", "outdated").json()["counts"] == {"up": 0, "down": 1}
    assert vote(first, None).json()["counts"] == {"up": 0, "down": 0}
    assert vote(second, "down", "wrong_pledge").json()["counts"] == {"up": 0, "down": 1}
    assert vote("not-shown", "up").status_code == 404
    unknown_answer = {"answer_id": "x" * 12, "pledge_id": first, "vote": "up"}
    assert client.post("/api/feedback", json=unknown_answer).status_code == 404
    assert vote(first, "meh").status_code == 422
    assert "reason" in vote(first, "up", "outdated").json()["error"]  # a reason only with a "down" vote
    assert client.post("/api/feedback", json={"answer_id": aid}).status_code == 422


def test_health(client: TestClient) -> None:
    health = {"ok": True, "model": True, "index": True, "feedback_store": True, "profile": "quick"}
    assert client.get("/api/health").json() == health


def test_stats_need_the_token(client: TestClient, service: Service) -> None:
    client.post("/api/ask", json={"q": "opieka wytchnieniowa"})
    assert client.get("/api/stats").status_code == 401
    assert client.get("/api/stats", headers={"Authorization": "Bearer wrong"}).status_code == 403
    r = client.get("/api/stats", headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 200 and r.json()["answers"] == 1 and r.json()["by_language"] == {"pl": 1}
    closed = TestClient(
        secured(
            create_server(replace(service, settings=replace(service.settings, admin_token=None))), service.settings
        ),
        base_url=BASE,
    )
    assert closed.get("/api/stats", headers={"Authorization": "Bearer s3cret"}).status_code == 403


def test_503_while_loading(service: Service) -> None:
    loading = TestClient(secured(create_server(replace(service, assistant=None)), service.settings), base_url=BASE)
    r = loading.post("/api/ask", json={"q": "pomoc"})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert loading.get("/api/health").status_code == 503


def test_busy_pool_answers_503_with_retry_after(service: Service) -> None:
    async def scenario() -> tuple[str, int]:
        service.slots = asyncio.Semaphore(1)
        await service.slots.acquire()  # the one engine thread is taken
        try:
            await service.run(time.sleep, 0)
        except Exception as exc:  # noqa: BLE001 — the ApiError is the point
            return type(exc).__name__, getattr(exc, "status", 0)
        return "no error", 0

    assert asyncio.run(scenario()) == ("ApiError", 503)


def test_security_headers_uploads_bodies_hosts_and_cors(client: TestClient) -> None:
    r = client.get("/api/health")
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    up = client.post("/gradio_api/upload", files={"files": ("a.txt", b"hello")})
    assert up.status_code == 403
    json_type = {"Content-Type": "application/json"}
    big = client.post("/api/feedback", content=b"{" + b" " * 70_000 + b"}", headers=json_type)
    assert big.status_code == 413

    def chunks():
        for _ in range(20):
            yield b" " * 10_000

    assert client.post("/api/feedback", content=chunks(), headers=json_type).status_code == 413
    assert client.get("/api/health", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/api/health", headers={"Host": "localhost:7860"}).status_code == 200
    cors = client.get("/api/health", headers={"Origin": "http://localhost:9999"})
    assert "access-control-allow-origin" not in cors.headers  # no CORS for other origins, localhost included


def test_rate_limit_per_client_and_forwarded_only_from_trusted_proxies(service: Service) -> None:
    settings = replace(service.settings, rate_limit=2, trusted_proxies="127.0.0.1")
    app = secured(create_server(replace(service, settings=settings)), settings)
    direct = TestClient(app, base_url=BASE)  # its peer address is "testclient"
    ask = lambda c, **headers: c.post("/api/ask", json={"q": "pomoc"}, headers=headers)  # noqa: E731
    assert [ask(direct).status_code for _ in range(2)] == [200, 200]
    over = ask(direct)
    assert over.status_code == 429 and 1 <= int(over.headers["retry-after"]) <= 30 and "KQA_RATE_LIMIT" in over.text
    assert direct.post("/api/feedback", json={}).status_code == 429  # votes count too
    assert ask(direct, **{"X-Forwarded-For": "203.0.113.7"}).status_code == 429  # not a trusted proxy: ignored
    proxied = TestClient(app, base_url=BASE, client=("127.0.0.1", 5000))
    for_a = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}  # the left entry is the client's own claim
    assert [ask(proxied, **for_a).status_code for _ in range(3)] == [200, 200, 429]
    assert ask(proxied, **{"X-Forwarded-For": "6.6.6.6, 203.0.113.8"}).status_code == 200
    assert direct.get("/api/pledges").status_code == 200  # reads are not limited


def test_openapi_documents_bodies_errors_and_constraints(client: TestClient) -> None:
    doc = client.get("/api/openapi.json").json()
    ask = doc["paths"]["/api/ask"]
    assert set(ask) == {"post"}
    assert {"400", "404", "413", "422", "429", "503"} <= set(ask["post"]["responses"])
    assert (
        ask["post"]["responses"]["429"]["content"]["application/json"]["schema"]
        == {"$ref": "#/components/schemas/ErrorBody"}
        and "Retry-After" in ask["post"]["responses"]["429"]["headers"]
    )
    q = doc["components"]["schemas"]["AskRequest"]["properties"]["q"]
    assert q["pattern"] == r"\p{L}" and q["minLength"] == 1
    down = doc["components"]["schemas"]["DownVote"]["properties"]
    assert doc["components"]["schemas"]["UpVote"]["properties"]["reason"]["type"] == "null"
    assert "outdated" in str(down["reason"])
    assert {"401", "403"} <= set(doc["paths"]["/api/stats"]["get"]["responses"])
    assert doc["paths"]["/api/stats"]["get"]["security"] == [{"adminToken": []}]


def test_a_replayed_body_then_passes_on_the_clients_messages() -> None:
    from assistant.security import _replay

    async def client() -> dict:
        return {"type": "http.disconnect"}

    async def scenario() -> list[str]:
        receive = _replay(b"{}", client)
        return [(await receive())["type"], (await receive())["type"]]

    assert asyncio.run(scenario()) == ["http.request", "http.disconnect"]  # it used to recurse without end


def test_ask_with_history_reads_the_follow_up(client: TestClient) -> None:
    """The conversation travels with the client: the server reads the earlier turns it is sent, keeps nothing."""
    first = client.post("/api/ask", json={"q": "Rozwiniemy system opieki wyręczeniowej"}).json()
    assert first["follow_up"] is None and first["turn"]["q"] == "Rozwiniemy system opieki wyręczeniowej"
    again = client.post("/api/ask", json={"q": "po ukraińsku", "history": [first["turn"]]})
    assert again.status_code == 200
    doc = again.json()
    assert doc["follow_up"] == {"kind": "language", "about": first["turn"]["pledge_ids"]}
    assert doc["reply_language"] == "uk" and doc["turn"]["pledge_ids"] == first["turn"]["pledge_ids"]
    bad = client.post("/api/ask", json={"q": "is it free?", "history": [{"q": "x", "pledge_ids": ["nope"]}]})
    assert bad.status_code == 422 and "'nope'" in bad.json()["error"]
    too_many = client.post("/api/ask", json={"q": "a", "history": [{"q": "x"}] * 21})
    assert too_many.status_code == 422
    extra = client.post("/api/ask", json={"q": "a", "history": [{"q": "x", "answer": "y"}]})
    assert extra.status_code == 422


def test_a_better_profile_swapped_in_answers_from_then_on(client: TestClient, service: Service) -> None:
    """What the server's background build does when it lands (assistant/upgrade.py): health names the new profile
    and a conversation begun before the swap goes on (its turns carry only questions and pledge ids)."""
    from assistant.upgrade import Upgrade

    assert service.assistant is not None
    first = client.post("/api/ask", json={"q": "opieka wytchnieniowa"}).json()
    assert client.get("/api/health").json()["profile"] == "quick"
    better = replace(service.assistant, settings=replace(service.assistant.settings, profile="thorough"))

    def swap(new: Assistant) -> None:
        service.assistant = new

    assert Upgrade(better.settings, swap, log=lambda m: None, steps=[], load=lambda s: better).run()
    assert client.get("/api/health").json()["profile"] == "thorough"
    history = [{"q": "opieka wytchnieniowa", "pledge_ids": [a["pledge_id"] for a in first["answers"]]}]
    later = client.post("/api/ask", json={"q": "czy to jest bezpłatne?", "history": history})
    assert later.status_code == 200 and later.json()["follow_up"] is not None

"""Every request is answered within a bounded time: the server-side deadline (--request-timeout) cancels a
request that waits or runs too long and frees its slot; a body that never finishes gets a 408
(--body-timeout); a stream whose client reads nothing is dropped. On a small server of its own (one slot,
short limits), since the session server keeps the generous defaults."""

from __future__ import annotations

import socket
import time

import httpx
import openai
import pytest

from server.process import ServerProcess

MODEL = "aletheia-base"
REQUEST_TIMEOUT = 4
BODY_TIMEOUT = 2
LONG = [{"role": "user", "content": "Write a long, detailed essay about filesystems, disks and RAID."}]
# the model's end-of-generation tokens banned: these requests cannot finish before their deadline, whatever
# the model writes and however fast the machine is
NO_EOG = {"0": -100, "2": -100, "4": -100}


@pytest.fixture(scope="module")
def short_server(tmp_path_factory):
    log = tmp_path_factory.mktemp("deadlines") / "server.log"
    with ServerProcess(extra_args=["--parallel", "1", "--threads", "1", "--ctx-size", "4096",
                                   "--request-timeout", str(REQUEST_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT),
                                   "--models-dir", str(tmp_path_factory.mktemp("none"))], log_path=log) as srv:
        yield srv


@pytest.fixture
def short_client(short_server):
    with openai.OpenAI(base_url=short_server.base_url, api_key="x", max_retries=0, timeout=60) as client:
        yield client


def engine_idle(server: ServerProcess, wait: float = 10.0) -> bool:
    end = time.monotonic() + wait
    while time.monotonic() < end:
        text = httpx.get(f"{server.url}/metrics", timeout=10).text
        values = [float(line.split()[-1]) for line in text.splitlines()
                  if line.startswith(("aletheia_requests_running{", "aletheia_requests_waiting{"))]
        if values and not any(values):
            return True
        time.sleep(0.1)
    return False


def test_a_request_past_its_deadline_gets_a_504_and_frees_its_slot(short_server, short_client):
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as err:
        short_client.chat.completions.create(model=MODEL, messages=LONG, max_tokens=3000, temperature=0.8, seed=1,
                                             logit_bias=NO_EOG)
    assert err.value.status_code == 504 and err.value.body["code"] == "timeout"
    assert f"{REQUEST_TIMEOUT} seconds" in err.value.body["message"]
    assert time.monotonic() - started < REQUEST_TIMEOUT + 10
    assert engine_idle(short_server), "the timed-out generation kept its slot"


def test_a_request_waiting_for_the_slot_past_its_deadline_is_answered_too(short_server, short_client):
    """One slot: the second request waits behind the first for its whole deadline."""
    with openai.OpenAI(base_url=short_server.base_url, api_key="x", max_retries=0, timeout=60) as other:
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(c.chat.completions.create, model=MODEL, messages=LONG, max_tokens=3000,
                                   temperature=0.8, seed=i, logit_bias=NO_EOG)
                       for i, c in enumerate((short_client, other))]
            for future in futures:
                with pytest.raises(openai.APIStatusError) as err:
                    future.result(timeout=REQUEST_TIMEOUT + 20)
                assert err.value.status_code == 504
    assert engine_idle(short_server)


@pytest.mark.parametrize("endpoint", ["chat", "completions"])
def test_a_stream_past_its_deadline_ends_with_an_in_band_error(short_server, short_client, endpoint):
    if endpoint == "chat":
        stream = short_client.chat.completions.create(model=MODEL, messages=LONG, max_tokens=3000, stream=True,
                                                     logit_bias=NO_EOG)
    else:
        stream = short_client.completions.create(model=MODEL, prompt=["Filesystems are", "RAID is"], max_tokens=3000,
                                                 logit_bias=NO_EOG,
                                                 stream=True)
    chunks = 0
    with pytest.raises(openai.APIError) as err:
        for _ in stream:
            chunks += 1
    assert chunks > 0 and "request timeout" in err.value.message
    assert engine_idle(short_server)


def test_a_body_that_never_finishes_gets_a_408(short_server):
    with socket.create_connection(("127.0.0.1", short_server.port), timeout=30) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"model\": ")
        started = time.monotonic()
        reply = sock.recv(4096)
        while b"}}" not in reply and (chunk := sock.recv(4096)):  # headers and body may come apart
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 408") and b'"code":"timeout"' in reply
    assert time.monotonic() - started < BODY_TIMEOUT + 5


def test_a_stream_whose_client_reads_nothing_ends_by_its_deadline(short_server):
    body = (b'{"model": "aletheia-base", "stream": true, "max_tokens": 3000, "messages": '
            b'[{"role": "user", "content": "Write a long essay about disks."}]}')
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills quickly: the server's sends block
        sock.connect(("127.0.0.1", short_server.port))
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        time.sleep(REQUEST_TIMEOUT + 7)  # the deadline and the grace for a stuck stream pass without a read
        sock.settimeout(10)
        received = b""
        while chunk := sock.recv(65536):  # what was buffered, then the server's close
            received += chunk
    assert received.startswith(b"HTTP/1.1 200")
    assert engine_idle(short_server)

"""lsp.logs on hostile and unusual input (empty, binary, invalid UTF-8, huge lines, huge files, odd line
breaks), and header detection / masking on common log formats not in the Loghub excerpt."""

from __future__ import annotations

import json
import random

import pytest

from lsp.logs import analyse_log, context_excerpt, split_lines
from lsp.logs.headers import HeaderParser, normalise_level
from lsp.logs.masking import mask
from lsp.logs.report import MAX_LINE_CHARS


def test_empty_and_blank_text():
    for text in ("", "\n", "\n\n\r\n", "   \t  "):
        report = analyse_log(text)
        assert report.templates == [] and report.error_groups == []
        assert not report.truncated
        json.dumps(report.to_dict())
    assert context_excerpt("", 5) == ("", 1)


def test_binary_garbage_never_raises():
    rng = random.Random(1234)
    for size in (1, 17, 4096, 65536):
        blob = bytes(rng.randrange(256) for _ in range(size))
        text = blob.decode("utf-8", errors="replace")
        report = analyse_log(text)
        assert report.total_lines == len(split_lines(text))
        assert report.failure == ""
        json.dumps(report.to_dict())


def test_invalid_utf8_and_control_characters():
    raw = b"2024-01-01 00:00:00 ERROR caf\xc3 failed \xff\xfe\x00\x01 at 0x7f\n2024-01-01 00:00:01 INFO ok\n"
    text = raw.decode("utf-8", errors="replace")
    report = analyse_log(text)
    assert [g.lines for g in report.error_groups] == [[1]]
    assert "\x00" not in report.error_groups[0].sample


def test_surrogates_and_non_string_input_do_not_crash():
    report = analyse_log("ERROR bad \ud800 surrogate\n")
    assert report.error_groups and report.error_groups[0].severity == "error"
    assert analyse_log(b"ERROR from bytes\n").error_groups  # tolerated although typed str
    assert analyse_log(None).total_lines == 0  # type: ignore[arg-type]


def test_very_long_lines_are_capped():
    long_line = "2024-01-01 00:00:00 ERROR " + "x" * 5_000_000
    report = analyse_log(long_line + "\n2024-01-01 00:00:01 INFO fine\n")
    group = report.error_groups[0]
    assert group.lines == [1]
    assert len(group.sample) <= 500 and len(group.template) <= MAX_LINE_CHARS
    excerpt, first = context_excerpt(long_line, 1)
    assert first == 1 and len(excerpt) <= MAX_LINE_CHARS


def test_max_lines_truncates():
    text = "".join(f"2024-01-01 00:00:{i % 60:02d} INFO tick {i}\n" for i in range(1000))
    text += "2024-01-01 00:01:00 ERROR late failure\n"
    report = analyse_log(text, max_lines=100)
    assert report.truncated and report.total_lines == 1001 and report.analysed_lines == 100
    assert report.error_groups == []  # the error is past the limit
    assert sum(t.count for t in report.templates) == 100
    assert analyse_log(text, max_lines=0).templates == []
    full = analyse_log(text)
    assert not full.truncated and full.error_groups[0].lines == [1001]


def test_line_numbers_follow_editor_line_breaks():
    text = "INFO a\r\nERROR b failed\rINFO c\nERROR d failed\x0cstill line 4\n"
    report = analyse_log(text)
    assert report.total_lines == 4
    assert sorted(line for g in report.error_groups for line in g.lines) == [2, 4]


def test_random_text_fuzz_never_raises():
    rng = random.Random(99)
    alphabet = "aZ09 :[]()<>{}\"'\\/=-_.,;*#@\t\n\r\x00\u00e9\u4e2d\ufffd"
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 400)))
        report = analyse_log(text, max_lines=rng.randrange(0, 50))
        assert report.failure == "", report.failure
        json.dumps(report.to_dict())
        context_excerpt(text, rng.randrange(-5, 50), rng.randrange(-2, 5), rng.randrange(-2, 5))


@pytest.mark.parametrize(
    "lines, message, level",
    [
        (["2024-05-02 08:15:01,200 - worker.pool - ERROR - batch 2 crashed"], "batch 2 crashed", "error"),
        (["ERROR:root:could not open /tmp/x"], "could not open /tmp/x", "error"),
        (["2024/01/01 12:00:00 [error] 1234#0: *5 connect() failed"], "*5 connect() failed", "error"),
        (["2024/06/01 12:00:00 listening on :8080"], "listening on :8080", ""),
        (['{"time":"2024-01-01T00:00:00Z","level":"error","msg":"db down","err":"refused"}'], "db down", "error"),
        (['time=2024-01-01T00:00:00Z level=warn msg="disk almost full" pct=91'], "disk almost full", "warning"),
        (["E0601 12:00:00.123456    1234 controller.go:123] Failed to sync pod"], "Failed to sync pod", "error"),
        (["2024-01-01T10:00:00.123Z [ERROR] payment failed"], "payment failed", "error"),
        (["Jun 01 12:00:01 host kernel: Out of memory: Killed process 42"], "Out of memory: Killed process 42", ""),
        (["E, [2024-01-01T10:00:00.123456 #1234] ERROR -- : boom"], "boom", "error"),
        (["[2024-01-01T10:00:00,123][WARN ][o.e.c.DiskMonitor] [node-1] disk high"], "disk high", "warning"),
        (["03-17 16:13:38.811  1702  2395 E WindowManager: bad token"], "bad token", "error"),
        (["Sun Dec 04 04:47:44 2005 plain message"], "plain message", ""),
        (["just a message with no header"], "just a message with no header", ""),
        # formats beyond Loghub's: Spring Boot, log4j %c{1}:%L, PostgreSQL, MySQL 8, Apache 2.4, access logs,
        # syslog <PRI> and RFC 5424, env_logger, tracing, Serilog, .NET console, logrus, Monolog, Cassandra,
        # zap's console encoder, Redis
        (["2024-01-01 10:00:00.101  INFO 4242 --- [           main] c.a.o.OrdersApplication  : Started in 3 s"],
         "Started in 3 s", "info"),
        (["2024-01-01 10:00:00,001 WARN  [main] OrderService:41 - Retry 1/3"], "Retry 1/3", "warning"),
        (["2024-01-01 10:00:00.123 UTC [311] shop@shop ERROR:  duplicate key value"], "duplicate key value", "error"),
        (["2024-01-01 10:00:00.123 UTC [27] LOG:  checkpoint starting: time"], "checkpoint starting: time", "info"),
        (["2024-01-01T10:00:00.1Z 0 [System] [MY-010116] [Server] mysqld starting"], "mysqld starting", "info"),
        (["[Mon Jan 01 10:00:14.223456 2024] [proxy:error] [pid 9:tid 1] [client 10.0.0.1:5012] attempt failed"],
         "attempt failed", "error"),
        (['203.0.113.7 - - [01/Jan/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 5'], '"GET / HTTP/1.1" 200 5', ""),
        (["<34>Oct 11 22:14:15 host su: 'su root' failed"], "'su root' failed", "critical"),
        (["<11>1 2024-01-01T10:00:00Z api-3 payments 2211 - [sd@1 a=\"1\"] charge declined"], "charge declined",
         "error"),
        (["[2024-01-01T10:00:02Z WARN  shop::cache] redis unavailable"], "redis unavailable", "warning"),
        (["2024-01-01T10:00:05.123Z  INFO shop::worker: job started"], "job started", "info"),
        (["[10:00:03 ERR] Failed to publish"], "Failed to publish", "error"),
        (["fail: Microsoft.AspNetCore.Server.Kestrel[13]"], "Microsoft.AspNetCore.Server.Kestrel[13]", "error"),
        (["ERRO[0003] Payment failed"], "Payment failed", "error"),
        (["[2024-01-01 10:00:07] production.ERROR: SQLSTATE[HY000] refused"], "SQLSTATE[HY000] refused", "error"),
        (["INFO  [main] 2024-01-01 10:00:00,001 StorageService.java:789 - Node up"], "Node up", "info"),
        (["2024-01-01T10:00:09.000Z\tERROR\tstore/pg.go:212\tquery failed"], "query failed", "error"),
        (["1:M 01 Jan 2024 10:00:00.002 * Server initialized"], "* Server initialized", ""),
    ],
)
def test_header_formats(lines, message, level):
    parser = HeaderParser.learn(lines)
    parsed = parser.parse(lines[0])
    assert parsed.message == message
    assert parsed.level == level


def test_layout_keeps_message_words_that_look_like_header_fields():
    # Most lines are "<ts> <level> <message>"; a message starting with "Error:" or a number is not a header.
    lines = [f"2024-01-01 00:00:{i:02d} INFO served request {i}" for i in range(20)]
    lines += ["2024-01-01 00:01:00 INFO Error: quota exceeded", "2024-01-01 00:01:01 INFO 42 workers idle"]
    parser = HeaderParser.learn(lines)
    assert parser.layout == ("ts", "level")
    assert parser.parse(lines[-2]).message == "Error: quota exceeded"
    assert parser.parse(lines[-1]).message == "42 workers idle"


def test_normalise_level():
    assert normalise_level("WARN") == normalise_level("[warning]") == normalise_level("W") == "warning"
    assert normalise_level("3") == "error" and normalise_level("50") == "critical"
    assert normalise_level("banana") == ""


@pytest.mark.parametrize(
    "message, expected",
    [
        ("from 10.0.0.1:5432 ok", "from <*> ok"),
        ("id 550e8400-e29b-41d4-a716-446655440000 done", "id <*> done"),
        ("block blk_-3544583377289625738 size 67108864", "block blk_<*> size <*>"),
        ("wrote /var/lib/app/data/x.bin in 120ms", "wrote <*> in <*>"),
        ("token 9f4ef63 at 0x7ffe12ab", "token <*> at <*>"),
        ("peer fe80::1ff:fe23:4567:890a gone", "peer <*> gone"),
        ("estimated size 9.6 KB, free 418.6 KB", "estimated size <*>, free <*>"),
        ("connection from 1.2.3.4 at Wed Jun 29 14:44:35 2005", "connection from <*> at <*>"),
        ("see https://example.com/a?b=1 now", "see <*> now"),
        ("Connection refused", "Connection refused"),
        ("acquire tag=\"View Lock\", ws=WorkSource{10113}, uid=1000", "acquire tag=\"<*>\", ws=<*>, uid=<*>"),
        ("attempt_1445144423722_0020_m_000000_0 done", "attempt_<*> done"),
        ("ask 10.0.0.1:50010 to delete blk_1 blk_2 blk_3", "ask <*> to delete blk_<*>"),
        ("reverse lookup for 61-220-1-9.hinet-ip.hinet.net failed", "reverse lookup for <*> failed"),
    ],
)
def test_masking(message, expected):
    assert mask(message) == expected


def test_internal_failure_is_reported_not_raised(monkeypatch):
    import lsp.logs.report as report_module

    def broken(*_args):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(report_module, "_analyse", broken)
    report = analyse_log("ERROR x\n", source="a.log")
    assert report.failure == "RuntimeError: simulated bug" and report.source == "a.log"
    assert report.to_dict()["failure"] == "RuntimeError: simulated bug"


def test_single_letter_words_are_not_levels_outside_a_logcat_layout():
    lines = [f"2024/06/01 12:00:{i:02d} handled request {i} in {i * 3}ms" for i in range(10)]
    lines += ["2024/06/01 12:01:00 A new client connected from 10.0.0.9", "2024/06/01 12:01:01 E is for example"]
    report = analyse_log("\n".join(lines))
    assert report.header_layout == ["ts"]
    assert report.error_groups == []  # "A" is no logcat Assert, "E" no Error here
    assert "A new client connected from <*>" in [t.template for t in report.templates]

"""Error grouping of lsp.logs: severities from levels and from content, repeated errors grouped by
template, and Java / Python / Go stack traces attached to the error that starts them."""

from __future__ import annotations

import json

from lsp.logs import analyse_log, context_excerpt
from lsp.logs.errors import exception_name, line_severity

JAVA_APP = """\
2024-03-01 10:00:00,001 INFO  [main] com.acme.App: Starting service on port 8080
2024-03-01 10:00:01,002 INFO  [main] com.acme.App: Connected to db at 10.0.0.5:5432 in 120ms
2024-03-01 10:00:02,003 ERROR [worker-1] com.acme.Handler: Request 8812 failed
java.lang.IllegalStateException: connection pool exhausted (size=20)
\tat com.acme.db.Pool.acquire(Pool.java:88)
\tat com.acme.Handler.handle(Handler.java:42)
Caused by: java.net.SocketTimeoutException: Read timed out
\tat java.base/java.net.SocketInputStream.read(SocketInputStream.java:168)
\t... 12 more
2024-03-01 10:00:03,004 INFO  [main] com.acme.App: Connected to db at 10.0.0.6:5432 in 98ms
2024-03-01 10:00:04,005 ERROR [worker-2] com.acme.Handler: Request 9913 failed
java.lang.IllegalStateException: connection pool exhausted (size=20)
\tat com.acme.db.Pool.acquire(Pool.java:88)
Caused by: java.net.SocketTimeoutException: Read timed out
\tat java.base/java.net.SocketInputStream.read(SocketInputStream.java:168)
2024-03-01 10:00:05,006 WARN  [main] com.acme.Cache: Cache miss ratio 0.93 above 0.5
2024-03-01 10:00:06,007 INFO  [main] com.acme.App: Connected to db at 10.0.0.7:5432 in 77ms
"""

PYTHON_APP = """\
2024-05-02 08:15:00,100 - worker - INFO - processed batch 1 in 0.52s
2024-05-02 08:15:01,200 - worker - ERROR - batch 2 crashed
Traceback (most recent call last):
  File "/srv/app/worker.py", line 40, in run
    self.process(batch)
  File "/srv/app/worker.py", line 61, in process
    total = sum(item["price"] for item in batch)
KeyError: 'price'
2024-05-02 08:15:02,300 - worker - INFO - processed batch 3 in 0.47s
2024-05-02 08:15:03,400 - worker - CRITICAL - database unavailable, shutting down
"""

GO_PANIC = """\
2024/06/01 12:00:00 listening on :8080
2024/06/01 12:00:05 handling request id=17
panic: runtime error: index out of range [5] with length 3

goroutine 1 [running]:
main.handler(0xc000010000)
\t/home/dev/app/main.go:21 +0x1d
main.main()
\t/home/dev/app/main.go:9 +0x25
exit status 2
"""


def test_java_trace_attached_and_repeats_grouped():
    report = analyse_log(JAVA_APP)
    errors = [g for g in report.error_groups if g.severity == "error"]
    assert len(errors) == 1, [(g.template, g.lines) for g in report.error_groups]
    group = errors[0]
    assert group.template == "Request <*> failed"
    assert group.count == 2 and group.lines == [3, 11] and group.first_line == 3
    assert group.stack_trace == [4, 5, 6, 7, 8, 9]  # exception line, frames, Caused by, "... 12 more"
    assert group.exception == "java.net.SocketTimeoutException"  # the root cause
    assert "Request 8812 failed" in group.sample and group.sample_line == 3
    # Frames are not lines of their own: no template covers them.
    covered = {line for t in report.templates for line in t.lines}
    assert covered.isdisjoint({4, 5, 6, 7, 8, 9, 12, 13, 14, 15})
    # The warning has its own group.
    warnings = [g for g in report.error_groups if g.severity == "warning"]
    assert [g.lines for g in warnings] == [[16]]


def test_sample_comes_from_the_first_occurrence_with_a_trace():
    text = """\
2024-01-01 00:00:00 ERROR job 1 failed
2024-01-01 00:00:01 INFO tick
2024-01-01 00:00:02 ERROR job 2 failed
java.lang.IllegalStateException: boom
\tat a.B.c(B.java:1)
2024-01-01 00:00:03 INFO tick
"""
    # The occurrence logged without a trace joins the one exception its template is seen with.
    groups = analyse_log(text).error_groups
    assert [(g.lines, g.sample_line, g.stack_trace, g.first_line) for g in groups] == [([1, 3], 3, [4, 5], 1)]
    assert groups[0].exception == "java.lang.IllegalStateException"
    # With two different exceptions, each keeps its group, and the plain occurrence keeps its own.
    text += "2024-01-01 00:00:04 ERROR job 3 failed\njava.io.IOException: disk\n\tat a.B.d(B.java:2)\n"
    groups = analyse_log(text).error_groups
    assert sorted((g.lines, g.exception) for g in groups) == [
        ([1], ""), ([3], "java.lang.IllegalStateException"), ([7], "java.io.IOException")]


def test_templates_most_frequent_first_with_one_based_lines():
    report = analyse_log(JAVA_APP)
    counts = [t.count for t in report.templates]
    assert counts == sorted(counts, reverse=True)
    top = report.templates[0]
    assert top.template == "Connected to db at <*> in <*>"
    assert top.lines == [2, 10, 17] and top.count == 3
    assert [t.id for t in report.templates] == list(range(1, len(report.templates) + 1))
    assert report.total_lines == 17 and not report.truncated


def test_python_traceback_attached_to_logged_error():
    report = analyse_log(PYTHON_APP)
    by_severity = {g.severity: g for g in report.error_groups}
    assert set(by_severity) == {"error", "critical"}
    crashed = by_severity["error"]
    assert crashed.lines == [2] and crashed.stack_trace == [3, 4, 5, 6, 7, 8]
    assert crashed.exception == "KeyError"
    assert by_severity["critical"].lines == [10]
    assert report.error_groups[0].severity == "critical"  # worst first


def test_bare_python_traceback_is_one_error_named_by_its_exception():
    text = "starting\nTraceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n" \
           "    main()\nValueError: bad input 42\nstarting\n"
    report = analyse_log(text)
    assert len(report.error_groups) == 1
    group = report.error_groups[0]
    assert group.lines == [2] and group.stack_trace == [3, 4, 5]
    assert group.template.startswith("ValueError: bad input")
    assert group.exception == "ValueError"


def test_go_panic_is_critical_with_goroutine_trace():
    report = analyse_log(GO_PANIC)
    assert report.error_groups[0].severity == "critical"
    panic = report.error_groups[0]
    assert panic.lines == [3]
    assert panic.stack_trace == [5, 6, 7, 8, 9, 10]  # blank line skipped, goroutine frames, exit status
    assert "index out of range" in panic.template


def test_repeated_errors_with_varying_numbers_form_one_group():
    lines = []
    for i in range(50):
        lines.append(f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}Z INFO request {1000 + i} served in {i * 7} ms")
        if i % 5 == 0:
            lines.append(f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}Z ERROR upstream 10.1.{i}.9:{8000 + i} "
                         f"timed out after {30 + i}s (attempt {i % 3 + 1})")
    report = analyse_log("\n".join(lines))
    assert len(report.error_groups) == 1
    group = report.error_groups[0]
    assert group.count == 10 and group.severity == "error"
    assert "timed out after" in group.template
    assert len(report.templates) == 2


def test_severity_from_level_and_from_content():
    assert line_severity("error", "anything") == "error"
    assert line_severity("", "java.lang.NullPointerException at foo") == "error"
    # An explicit level is trusted: words raise INFO to a warning at most and leave WARN as it is (only a
    # stack trace under the line makes an error of it, see test_warning_with_a_stack_trace_is_an_error).
    assert line_severity("info", "Exception in receiveBlock for block blk_1") == "warning"
    assert line_severity("", "connect to 10.0.0.1 port 22: Connection refused") == "error"
    assert line_severity("info", "connection refused, retrying") == ""  # INFO: handled, as its level says
    assert line_severity("warning", "lease renewal failed, will retry") == "warning"  # WARN is trusted
    assert line_severity("warning", "java.io.IOException: Broken pipe") == "warning"
    assert line_severity("warning", "SQL Error: 0, SQLState: 08001") == "warning"
    assert line_severity("debug", "caught IOException, retrying") == ""
    assert line_severity("", "Out of memory: Killed process 4242 (java)") == "critical"
    assert line_severity("", "kernel: nginx invoked oom-killer: gfp_mask=0x201da") == "critical"
    assert line_severity("", "FATAL: password authentication failed for user app") == "critical"
    assert line_severity("info", "finished with 0 errors") == ""
    assert line_severity("info", "user logged in") == ""
    assert line_severity("warning", "disk at 85%") == "warning"
    assert line_severity("debug", "retrying") == ""


def test_failure_words_inside_longer_names_are_no_failure():
    """Lines of a real dpkg.log and apt term.log: package, file and key names that begin with a failure word."""
    assert line_severity("", "2026-05-09 07:29:12 install libgpg-error-dev:amd64 <none> 1.46-1") == ""
    assert line_severity("", "Unpacking libgpg-error-dev (1.46-1) ...") == ""
    assert line_severity("", "opened /var/log/nginx/error.log for writing") == ""
    assert line_severity("", "loaded error_page directives from /etc/nginx/conf.d") == ""
    # the word ending a name, or a field holding an error, still counts
    assert line_severity("", "upstream reason=connection-refused") == "error"
    assert line_severity("", 'error="dial tcp 10.0.0.7:5432: i/o timeout"') == "error"
    assert line_severity("", "Failed to open connection to the system message bus") == "error"


def test_exception_name_prefers_root_cause_and_last_python_line():
    assert exception_name(["x", "java.io.IOException: a", "Caused by: java.net.ConnectException: b"]) \
        == "java.net.ConnectException"
    assert exception_name(["Traceback (most recent call last):", '  File "a.py"', "ValueError: x"]) == "ValueError"
    assert exception_name(["nothing to see"]) == ""


def test_level_less_plain_text_still_finds_errors():
    text = "compiling\nlinking\nerror: undefined reference to `foo'\ncollect2: error: ld returned 1 exit status\n"
    report = analyse_log(text)
    assert sorted(line for g in report.error_groups for line in g.lines) == [3, 4]


def test_report_is_json_ready():
    data = analyse_log(JAVA_APP, source="app.log").to_dict()
    round_trip = json.loads(json.dumps(data))
    assert round_trip["source"] == "app.log"
    assert round_trip["error_groups"][0]["stack_trace"] == [4, 5, 6, 7, 8, 9]
    assert {"id", "template", "count", "lines"} <= set(round_trip["templates"][0])


def test_context_excerpt_around_error():
    excerpt, first = context_excerpt(JAVA_APP, 11, before=2, after=3)
    assert first == 9
    lines = excerpt.split("\n")
    assert len(lines) == 6 and "Request 9913 failed" in lines[2]
    # Clamped at both ends.
    excerpt, first = context_excerpt(JAVA_APP, 1, before=10, after=1)
    assert first == 1 and len(excerpt.split("\n")) == 2
    excerpt, first = context_excerpt(JAVA_APP, 10_000, before=1, after=10)
    assert first == 16 and excerpt.split("\n")[-1].endswith("in 77ms")


def test_chained_python_traceback_with_caret_lines_stays_one_trace():
    text = """\
2024-05-02 08:15:01,200 - api - ERROR - request failed
Traceback (most recent call last):
  File "/srv/app/db.py", line 12, in fetch
    return conn.execute(sql)
           ^^^^^^^^^^^^^^^^^
ConnectionResetError: [Errno 104] Connection reset by peer

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/app/api.py", line 30, in handle
    rows = fetch(sql)
mypkg.errors.DatabaseUnavailable: db01 unreachable
2024-05-02 08:15:02,000 - api - INFO - request served
"""
    report = analyse_log(text)
    assert len(report.error_groups) == 1
    group = report.error_groups[0]
    assert group.lines == [1]
    assert group.stack_trace == [2, 3, 4, 5, 6, 8, 10, 11, 12, 13]  # blank lines 7 and 9 are skipped
    assert group.exception == "mypkg.errors.DatabaseUnavailable"
    assert [t.lines for t in report.templates if "served" in t.template] == [[14]]


def test_node_and_dotnet_traces():
    node = """\
Error: ENOENT: no such file or directory, open '/app/config.json'
    at Object.openSync (node:fs:601:3)
    at Object.readFileSync (node:fs:469:35)
server listening on 3000
"""
    report = analyse_log(node)
    assert [(g.lines, g.stack_trace) for g in report.error_groups] == [([1], [2, 3])]
    dotnet = """\
2024-01-01 10:00:00.000 +00:00 [ERR] Unhandled exception in request pipeline
System.NullReferenceException: Object reference not set to an instance of an object.
   at Shop.Api.OrdersController.Get(Int32 id) in C:\\src\\Shop.Api\\OrdersController.cs:line 42
   at lambda_method(Closure , Object , Object[] )
2024-01-01 10:00:01.000 +00:00 [INF] Request finished
"""
    report = analyse_log(dotnet)
    group = report.error_groups[0]
    assert group.lines == [1] and group.stack_trace == [2, 3, 4]
    assert group.exception == "System.NullReferenceException"



def test_words_that_masking_cannot_see_still_group():
    """Variables that are plain words (job, queue and user names) at several positions: Drain's strict
    threshold alone would make one group per line; crowded tree leaves and subsumption fold them."""
    import random

    rng = random.Random(5)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6)) for _ in range(500)]
    lines = []
    for i in range(3000):
        if i % 2:
            lines.append(f"2024-01-01 00:00:00 INFO job {rng.choice(words)} moved {rng.choice(words)} "
                         f"to {rng.choice(words)} queue")
        else:
            lines.append(f"2024-01-01 00:00:00 WARN user {rng.choice(words)} denied access to {rng.choice(words)}")
    report = analyse_log("\n".join(lines))
    assert [(t.template, t.count) for t in report.templates] == [
        ("user <*> denied access to <*>", 1500), ("job <*> moved <*> to <*> queue", 1500)]


def test_warning_with_a_stack_trace_is_an_error():
    text = ("2024-01-01 00:00:00 WARN lease renewal failed, will retry\n"
            "java.net.ConnectException: Connection refused\n"
            "\tat org.apache.hadoop.ipc.Client.call(Client.java:1470)\n"
            "2024-01-01 00:00:01 WARN lease renewal slow\n")
    groups = analyse_log(text).error_groups
    assert [(g.severity, g.lines, g.stack_trace) for g in groups] == [("error", [1], [2, 3]), ("warning", [4], [])]


def test_multi_line_message_is_one_record_and_no_error():
    text = ("2024-01-01 00:00:00 INFO effective configuration:\n"
            "    listen: 0.0.0.0:8080\n"
            "    workers: 4\n"
            "2024-01-01 00:00:01 INFO client 10.0.0.1 disconnected\n"
            "java.io.IOException: Connection reset by peer\n"
            "\tat sun.nio.ch.FileDispatcherImpl.read0(Native Method)\n")
    report = analyse_log(text)
    assert sorted(line for t in report.templates for line in t.lines) == [1, 4]  # continuation lines folded
    assert [(g.severity, g.lines, g.stack_trace) for g in report.error_groups] == [("error", [4], [5, 6])]

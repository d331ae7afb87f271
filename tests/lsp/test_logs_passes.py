"""Big logs in two passes (lsp.logs.passes): a partial report on the first lines, then the whole log."""

from __future__ import annotations

from lsp.logs.passes import analyse_in_passes


def make_log(n: int) -> str:
    lines = [f"2024-05-01 10:00:{i % 60:02d} INFO worker {i % 7} done in {i % 97} ms" for i in range(n)]
    lines[3] = "2024-05-01 10:00:03 ERROR db connection to 10.0.0.5:5432 refused"
    lines[n - 2] = "2024-05-01 10:59:58 ERROR disk /dev/sdb1 read failed: I/O error"
    return "\n".join(lines) + "\n"


def test_a_big_log_gets_a_partial_report_of_its_first_lines_first():
    text = make_log(1_000)
    quick, full = list(analyse_in_passes(text, quick_lines=200))
    assert quick.partial and quick.analysed_lines == 200
    assert [g.first_line for g in quick.error_groups] == [4]
    assert not full.partial and full.analysed_lines == 1_000 and not full.truncated
    assert [g.first_line for g in full.error_groups] == [4, 999]


def test_a_small_log_gets_one_report():
    (only,) = list(analyse_in_passes(make_log(150), quick_lines=200))
    assert not only.partial and only.analysed_lines == 150
    (exact,) = list(analyse_in_passes(make_log(200), quick_lines=200))  # nothing after the quick lines
    assert not exact.partial


def test_no_quick_pass_when_max_lines_is_smaller():
    (only,) = list(analyse_in_passes(make_log(1_000), quick_lines=200, max_lines=100))
    assert not only.partial and only.truncated and only.analysed_lines == 100

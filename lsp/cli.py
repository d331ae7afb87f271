"""The command line: `python -m lsp` (serve over stdio or TCP), `check FILE...` and `logs FILE`.

`check` prints findings as text, JSON or SARIF 2.1.0 and exits 1 when any finding is an error, 2 when a
file cannot be read. `logs` prints the log analyser's template groups and error groups.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .analysers import RULES, Analysis, analyse_bytes

_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note", "hint": "note"}


def _read(path: str) -> bytes:
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"{path} is a directory")
    return p.read_bytes()


def format_text(results: list[tuple[str, Analysis]]) -> str:
    out = []
    for path, res in results:
        for f in res.findings:
            fix = " [fix available]" if f.fix else ""
            out.append(
                f"{path}:{f.span.line + 1}:{f.span.col + 1}: {f.severity} {f.rule} ({f.name}) {f.message}{fix}"
            )
    counts = {
        s: sum(f.severity == s for _, r in results for f in r.findings) for s in ("error", "warning", "info")
    }
    out.append(
        f"{len(results)} file(s): {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['info']} info"
    )
    return "\n".join(out)


def format_json(results: list[tuple[str, Analysis]]) -> str:
    return json.dumps({"files": [{"path": p, **r.to_dict()} for p, r in results]}, indent=2)


def format_sarif(results: list[tuple[str, Analysis]]) -> str:
    used = sorted({f.rule for _, r in results for f in r.findings})
    rules = [
        {
            "id": rid,
            "name": RULES[rid].name,
            "shortDescription": {"text": RULES[rid].summary},
            "defaultConfiguration": {"level": _SARIF_LEVEL[RULES[rid].severity]},
        }
        for rid in used
        if rid in RULES
    ]
    index = {r["id"]: i for i, r in enumerate(rules)}
    sarif_results = []
    for path, res in results:
        uri = Path(path).as_posix()
        for f in res.findings:
            region = {
                "startLine": f.span.line + 1,
                "startColumn": f.span.col + 1,
                "endLine": f.span.end_line + 1,
                "endColumn": f.span.end_col + 1,
            }
            item = {
                "ruleId": f.rule,
                "ruleIndex": index.get(f.rule, -1),
                "level": _SARIF_LEVEL[f.severity],
                "message": {"text": f.message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}],
            }
            if f.fix:
                item["fixes"] = [
                    {
                        "description": {"text": f.fix.title},
                        "artifactChanges": [
                            {
                                "artifactLocation": {"uri": uri},
                                "replacements": [
                                    {
                                        "deletedRegion": {
                                            "startLine": e.span.line + 1,
                                            "startColumn": e.span.col + 1,
                                            "endLine": e.span.end_line + 1,
                                            "endColumn": e.span.end_col + 1,
                                        },
                                        "insertedContent": {"text": e.new_text},
                                    }
                                    for e in f.fix.edits
                                ],
                            }
                        ],
                    }
                ]
            sarif_results.append(item)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "aletheia-lsp", "rules": rules}}, "results": sarif_results}],
    }
    return json.dumps(doc, indent=2)


def cmd_check(args: argparse.Namespace) -> int:
    results, unreadable = [], 0
    for path in args.files:
        try:
            data = _read(path)
        except OSError as e:
            print(f"{path}: cannot read: {e.strerror or e}", file=sys.stderr)
            unreadable += 1
            continue
        results.append((path, analyse_bytes(data, path)))
    formatter = {"text": format_text, "json": format_json, "sarif": format_sarif}[args.format]
    print(formatter(results))
    if unreadable:
        return 2
    return 1 if any(r.has_errors for _, r in results) else 0


def _read_log_head(path: str, max_lines: int, chunk: int = 1 << 20) -> tuple[bytes, int]:
    """The first ``max_lines`` lines of the file at ``path`` and its number of lines, reading the rest
    in chunks only to count it: memory is bounded by what is analysed, not by the file's size."""
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"{path} is a directory")
    with p.open("rb") as fh:
        if fh.peek(2)[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16: two-byte line breaks; read it whole
            return fh.read(), -1
        kept: list[bytes] = []
        while len(kept) < max(max_lines, 0):
            line = fh.readline()
            if not line:
                break
            kept.append(line)
        total, last = len(kept), b""
        while block := fh.read(chunk):
            total += block.count(b"\n")
            last = block[-1:]
        if last and last != b"\n":
            total += 1  # a last line without a line break
        return b"".join(kept), total


def _print_progress(stage: str, done: int, total: int) -> None:
    """One status line on stderr, rewritten in place: the stage and its share of the lines."""
    label = {"headers": "reading lines", "templates": "mining templates"}.get(stage, stage)
    share = 100 * done // total if total else 100
    print(f"\r{label}: {done:,}/{total:,} lines ({share}%)", end="", file=sys.stderr, flush=True)


def cmd_logs(args: argparse.Namespace) -> int:
    from .analysers import decode
    from .logs import analyse_log

    try:
        head, total = _read_log_head(args.file, args.max_lines)
    except OSError as e:
        print(f"{args.file}: cannot read: {e.strerror or e}", file=sys.stderr)
        return 2
    text, _ = decode(head)
    show = args.progress or (args.progress is None and sys.stderr.isatty())
    report = analyse_log(text, source=args.file, max_lines=args.max_lines,
                         progress=_print_progress if show else None)
    if total > report.total_lines:  # the lines past --max-lines were counted, not read into memory
        report.total_lines, report.truncated = total, True
    if show:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(
        f"{args.file}: {report.total_lines:,} lines, {len(report.templates)} templates, "
        f"{len(report.error_groups)} error groups" + (" (truncated)" if report.truncated else "")
    )
    if report.error_groups:
        print("\nError groups:")
        for g in report.error_groups:
            lines = ", ".join(map(str, g.lines[:10])) + (", ..." if len(g.lines) > 10 else "")
            trace = f"; stack trace on lines {g.stack_trace[0]}-{g.stack_trace[-1]}" if g.stack_trace else ""
            print(f"  #{g.id} [{g.severity}] x{g.count}, first on line {g.first_line}: {g.template}")
            print(f"      lines {lines}{trace}")
    print("\nTemplates (most frequent first):")
    for t in sorted(report.templates, key=lambda t: -t.count)[: args.top]:
        first = ", ".join(map(str, t.lines[:5])) + (", ..." if len(t.lines) > 5 else "")
        print(f"  T{t.id} x{t.count} (lines {first}): {t.template}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m lsp", description="Aletheia language server and config/log checks."
    )
    p.add_argument("--tcp", type=int, metavar="PORT", help="serve on 127.0.0.1:PORT instead of stdio")
    p.add_argument("--host", default="127.0.0.1", help="host for --tcp (default 127.0.0.1)")
    p.add_argument("--log-file", help="write the server's own log here (stdio is the protocol)")
    sub = p.add_subparsers(dest="command")
    c = sub.add_parser("check", help="check config files and print the findings")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    c.set_defaults(func=cmd_check)
    lg = sub.add_parser("logs", help="group a log file's lines into templates and error groups")
    lg.add_argument("file", metavar="FILE")
    lg.add_argument("--json", action="store_true", help="print the full report as JSON")
    lg.add_argument("--top", type=int, default=30, help="templates to list (default 30)")
    lg.add_argument("--max-lines", type=int, default=200_000, metavar="N",
                    help="analyse the first N lines (default 200000); the rest is only counted")
    lg.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="report progress on stderr (default: when stderr is a terminal)")
    lg.set_defaults(func=cmd_logs)
    return p


def _run_command(args: argparse.Namespace) -> int:
    """Run a printing command; a reader that stops early (``| head``) ends it quietly, as in coreutils."""
    try:
        code = args.func(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Python would flush stdout again at exit and print a second error: point it at /dev/null first
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a command killed by it


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "func", None):
        return _run_command(args)
    import logging

    if args.log_file:
        logging.basicConfig(filename=args.log_file, level=logging.INFO)
    from .server import build_server

    server = build_server()
    if args.tcp:
        server.start_tcp(args.host, args.tcp)
    else:
        server.start_io()
    return 0

"""The retrieved-context prompt and the citations made from an answer's ``[n]`` markers."""

from __future__ import annotations

from aletheia.tasks import Passage, QuestionTask, parse_citations
from server.kb.service import Retrieved, annotations, grounded_question
from server.kb.store import Document, Hit


def retrieved(url: str, title: str, lines: tuple[int, int], body: str) -> Retrieved:
    doc = Document(id="file-1", source="/docs/x.md", filename="x.md", url=url, kind="markdown", sha256="0",
                   bytes=1, attributes={"title": title.split(" > ")[0]})
    return Retrieved("vs_1", Hit(1, doc, title, body, lines[0], lines[1], 0.03, 1, 1))


def test_markers_become_url_citations_pointing_at_file_and_lines():
    passages = [retrieved("file:///docs/x.md", "x.md > Rollback", (5, 9), "Run undo."),
                retrieved("man:proc(5)", "proc(5) > /proc/pid/stat", (1138, 1138), "Status.")]
    answer = "Roll back with undo [1]; the status file is described in [2]. See also [7]."
    found = annotations(answer, passages)
    assert [a["url_citation"]["url"] for a in found] == ["file:///docs/x.md#L5-L9", "man:proc(5)#L1138"]
    for a in found:
        cite = a["url_citation"]
        assert a["type"] == "url_citation" and answer[cite["start_index"]:cite["end_index"]] in ("[1]", "[2]")
    assert found[0]["url_citation"]["title"] == "x.md, lines 5-9 (Rollback)"  # [7] names no passage: no citation


def test_grounded_question_is_the_shared_task_form():
    passages = [retrieved("file:///docs/x.md", "x.md > Rollback", (5, 9), "Run undo.")]
    expected = QuestionTask("How do I roll back?", passages=(Passage("Run undo.", "x.md", 5, 9, "Rollback"),))
    assert grounded_question("How do I roll back?", passages) == expected.user_prompt()
    assert "say that they do not contain it" in expected.user_prompt()
    assert parse_citations("a [1] b [12]") == [(1, 2, 5), (12, 8, 12)]

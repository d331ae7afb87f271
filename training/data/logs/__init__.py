"""Log analysis data: generators of realistic log excerpts with a known, planted root cause among
noise lines, and the reference answers with the file's own evidence line numbers."""

"""Parse a DAG file, inserting the commas the 1.10 docs forgot (``volume_mounts=[...]`` + newline + ``name=...``)."""

from __future__ import annotations

import ast

from airkube.errors import MigrationError

from .report import Finding


def parse_with_repairs(source: str, findings: list[Finding], attempts: int = 20) -> ast.Module:
    lines = source.splitlines(keepends=True)
    for _ in range(attempts):
        try:
            return ast.parse("".join(lines))
        except SyntaxError as exc:
            if "forgot a comma" not in (exc.msg or "") or not exc.lineno or (exc.end_lineno or 0) <= exc.lineno:
                raise MigrationError(f"the file does not parse: {exc.msg} (line {exc.lineno})") from exc
            idx = exc.lineno - 1
            body = lines[idx].rstrip("\r\n")
            newline = lines[idx][len(body):]
            quoted = "'" in body or '"' in body
            code, hash_, comment = body.partition("#") if "#" in body and not quoted else (body, "", "")
            lines[idx] = code.rstrip() + "," + ((" " + hash_ + comment) if hash_ else "") + newline
            findings.append(Finding(exc.lineno, "inserted a missing comma (the source did not parse)"))
    raise MigrationError("the file does not parse, even after inserting missing commas")

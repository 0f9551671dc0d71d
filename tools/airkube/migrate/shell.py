"""What a container's argv (``cmds + arguments``) runs, for shells and Python with ``-c``.

``sh -c SCRIPT a0 a1`` runs SCRIPT with ``$0=a0, $1=a1``; ``python -c PROG a1`` runs PROG with
``sys.argv[1:] == [a1]``. The 1.10 documentation's ``cmds=["bash", "-cx"], arguments=["echo", "10"]`` runs only
``echo`` (``10`` becomes ``$0``). The only rewrite made here is for that case: a script that is a single bare
command word, extra words the script never reads, and words whose meaning is the same whether read literally or
by a shell. Then ``shlex.join`` gives the command line the author wrote. Everything else is kept as is, or refused.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass

from .tables import JINJA_BLOCK

SHELLS = {"sh", "bash", "dash", "ash", "ksh", "mksh", "zsh", "busybox"}
_PYTHON = re.compile(r"^(python|pypy)(\d+(\.\d+)?)?$")
_POSITIONAL = re.compile(r"\$(\{?[0-9@*#]|\{[0-9]+\})|\b(shift|getopts)\b")
_BARE_WORD = re.compile(r"^[A-Za-z0-9_./+-]+$")
_SHELL_ACTIVE = set("$`\\;&|<>()*?[]{}~#!'\"\n")
# bash/sh options that take the next word as their value
_OPTS_WITH_VALUE = {"-o", "+o", "-O", "+O", "--rcfile", "--init-file"}


@dataclass(frozen=True)
class ShellPlan:
    """``action``: "keep" (faithful as is), "join" (``argv`` is the rewritten argv) or "refuse" (``reason``)."""

    action: str
    argv: tuple[str, ...] = ()
    reason: str = ""
    note: str = ""


def _interpreter(argv: list[str]) -> tuple[str, int]:
    """(kind, index of the interpreter word): kind is "shell", "python" or ""."""
    i = 0
    if argv and posixpath.basename(argv[0]) == "env":
        i = 1
        while i < len(argv) and argv[i].startswith("-"):
            i += 1
    if i >= len(argv):
        return "", i
    base = posixpath.basename(argv[i])
    if base in SHELLS:
        if base == "busybox":  # busybox sh -c ...
            if i + 1 < len(argv) and argv[i + 1] in ("sh", "ash"):
                return "shell", i + 1
            return "", i
        return "shell", i
    if _PYTHON.match(base):
        return "python", i
    return "", i


def _shell_script_index(argv: list[str], start: int) -> int | None:
    """Index of the -c script in ``argv`` (interpreter at ``start``), or None when the shell has no -c."""
    i, has_c = start + 1, False
    while i < len(argv):
        word = argv[i]
        if word == "--":
            i += 1
            break
        if word in _OPTS_WITH_VALUE:
            i += 2
            continue
        if word.startswith("--"):
            i += 1
            continue
        if len(word) > 1 and word[0] in "-+":
            has_c = has_c or (word[0] == "-" and "c" in word[1:])
            i += 1
            continue
        break
    return i if has_c else None


def _same_literally_and_in_a_shell(word: str) -> bool:
    """True when a shell reading ``shlex.quote(word)`` or the bare word would see the same thing (modulo spaces)."""
    return not (set(JINJA_BLOCK.sub("", word)) & _SHELL_ACTIVE)


def plan(argv: list[str], n_cmds: int) -> ShellPlan:
    """Decide what to do with ``argv`` (``cmds + arguments``, all string literals; ``n_cmds`` from cmds)."""
    kind, at = _interpreter(argv)
    if kind == "python":
        return ShellPlan("keep", note="python -c: the words after the program are its own sys.argv; kept as is")
    if kind != "shell":
        return ShellPlan("keep")
    idx = _shell_script_index(argv, at)
    if idx is None or idx >= len(argv):
        return ShellPlan("keep")
    script, extra = argv[idx], argv[idx + 1:]
    if not extra:
        return ShellPlan("keep")
    if _POSITIONAL.search(script):
        return ShellPlan("keep", note=f"the -c script reads its positional parameters ($0, $1, …): kept {extra!r} as its argv")
    if not _BARE_WORD.match(script):
        return ShellPlan("keep", note=f"the -c script is a full command line; the words after it ({extra!r}) are its "
                                      "$0, $1, … as before (kept as is)")
    if not all(_same_literally_and_in_a_shell(w) for w in extra):
        bad = next(w for w in extra if not _same_literally_and_in_a_shell(w))
        return ShellPlan(
            "refuse",
            reason=f"`{' '.join(argv[:idx])} {script!r}` runs only {script!r}; the words after it become $0, $1, … and "
                   f"{bad!r} contains shell syntax, so joining them would guess whether you meant it literally or as "
                   f"shell code: write the whole command line as the one -c string, e.g. "
                   f"arguments=[{shlex.join([script, *extra])!r}] (literal) or "
                   f"arguments=[{' '.join([script, *extra])!r}] (shell)",
        )
    joined = shlex.join([script, *extra])
    return ShellPlan("join", argv=(*argv[:idx], joined))

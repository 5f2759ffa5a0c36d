"""docs/simulators.md: its commands parse and its test example runs (STYLE 11)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from simulators.cli import build_parser
from simulators.faults import parse_fault
from simulators.link_modes import parse_mode, parse_schedule

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulators.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def _commands() -> list[list[str]]:
    commands = []
    for block in _blocks("sh"):
        for line in block.splitlines():
            if line.startswith("myenergy-sim "):
                commands.append(shlex.split(line)[1:])
    return commands


def test_the_doc_has_commands():
    assert len(_commands()) >= 4


@pytest.mark.parametrize("argv", _commands(), ids=" ".join)
def test_doc_commands_parse(argv):
    args = build_parser().parse_args(argv)
    for spec in getattr(args, "fault", []):
        parse_fault(spec)
    if args.command == "link":
        parse_mode(args.mode)
        if args.schedule:
            parse_schedule(args.schedule)


def test_fault_table_examples_parse():
    examples = re.findall(r"\| `([a-z_]+(?::[^`|]*)?)` \|\n", DOC.read_text())
    assert len(examples) == 7
    for spec in examples:
        parse_fault(spec)


def test_in_a_test_example_runs():
    section = DOC.read_text().split("## In a test", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert code is not None
    exec(compile(code.group(1), str(DOC), "exec"), {})

"""The command line: help for every command, one-line errors, real runs on small inputs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hotspots.cli import build_parser, main


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hotspots.cli", *args], capture_output=True, text=True, timeout=300)


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(sub.choices)


def test_top_level_help_lists_every_command():
    out = _run("--help")
    assert out.returncode == 0
    for name in _commands():
        assert name in out.stdout


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help(command):
    out = _run(command, "--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: hotspots " + command)


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_unknown_command_fails_with_usage():
    out = _run("frobnicate")
    assert out.returncode == 2
    assert "invalid choice" in out.stderr


def test_missing_file_gives_one_line_error():
    out = _run("load", "/nonexistent/file.csv")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "error" in out.stderr
    assert "Traceback" not in out.stderr

"""The command line: help for every command, one-line errors, real runs on small inputs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hotspots.cli import build_parser, flag_names, main


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


@pytest.mark.parametrize(
    "argv, message",
    [
        (["analyse", "--out", "x", "--kernel", "box"], "hotspots analyse: error: argument --kernel: invalid choice: 'box'"),
        (["analyse", "x.csv"], "hotspots analyse: error: the following arguments are required: --out"),
        (["map", "x.csv", "--out", "m.png", "--frobnicate"], "hotspots map: error: unrecognized arguments: --frobnicate"),
        (["load"], "hotspots load: error: the following arguments are required: PATH"),
    ],
)
def test_usage_errors_are_one_line_without_the_usage(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1 and "usage:" not in err, err
    assert err.rstrip().endswith(f"(see `hotspots {argv[0]} --help`)")


def test_flag_names_map_library_arguments_to_flags():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    names = flag_names(sub.choices["map"])
    assert names["cell_size"] == "--cell-size" and names["min_confidence"] == "--min-confidence"
    assert names["out_path"] == "--out" and names["size_in"] == "--width/--height"
    assert names["inputs"] == "INPUT"
    fetch = flag_names(sub.choices["fetch"])  # nested: hotspots fetch police-uk --from ...
    assert fetch["start"] == "--from" and fetch["end"] == "--to"


def test_library_errors_deep_in_a_command_name_the_flag(monkeypatch, capsys):
    """A check inside the library, reached from the CLI, reports the flag the user typed."""
    from hotspots import validation
    from hotspots.commands import demo

    def deep(args):
        validation.alpha(7)
        return 0

    monkeypatch.setattr(demo, "run", deep)
    assert main(["demo", "--out", "x"]) == 2
    assert "`alpha`" in capsys.readouterr().err  # demo has no --alpha flag: the library's name stays
    monkeypatch.setattr(demo, "register", _register_with_alpha(demo.register, deep))
    assert main(["demo", "--out", "x", "--alpha", "7"]) == 2
    assert capsys.readouterr().err == (
        "hotspots demo: error: `--alpha` must be a number between 0 and 1, exclusive (e.g. 0.05); got 7.\n"
    )


def _register_with_alpha(register, func):
    def inner(sub):
        register(sub)
        p = sub.choices["demo"]
        p.add_argument("--alpha")
        p.set_defaults(func=func)

    return inner


def test_command_text_is_the_typed_line_shell_quoted():
    """parameters.json's command: the words as typed (paths with spaces quoted, --out kept), one
    shell line that splits back into the same words; rebuilt from the arguments when not typed."""
    import argparse
    import shlex

    from hotspots.commands import command_text

    typed = ["analyse", "data/2025 01.csv", "../b's.csv", "--out", "my results", "--cell-size", "100"]
    args = argparse.Namespace(argv=typed, inputs=["ignored"], out="ignored")
    line = command_text(args, "analyse")
    assert line == "hotspots analyse 'data/2025 01.csv' '../b'\"'\"'s.csv' --out 'my results' --cell-size 100"
    assert shlex.split(line) == ["hotspots", *typed]
    built = argparse.Namespace(inputs=["a b.csv"], out="r", cell_size="100", quiet=True, pdf=False, bandwidth=None,
                               before=("2024-01", "2024-06"), func=print, command="analyse")
    assert shlex.split(command_text(built, "analyse")) == [
        "hotspots", "analyse", "a b.csv", "--before", "2024-01:2024-06", "--cell-size", "100", "--out", "r", "--quiet"]

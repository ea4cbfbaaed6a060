"""`xds` as a newcomer meets it: help on every option, usage errors, pipes (issue 14)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from xds_cli.commands import mllp_address
from xds_cli.main import main

XDS = str(Path(sys.executable).with_name("xds"))
DATA = Path(__file__).parent / "data"


def every_parser() -> list[tuple[str, argparse.ArgumentParser]]:
    """(`xds verb …`, parser) for the whole command tree, read from the real `main`."""
    found: list[tuple[str, argparse.ArgumentParser]] = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        found.append((name, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for verb, nested in action.choices.items():
                    walk(nested, f"{name} {verb}")

    def capture(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        walk(self, "xds")
        raise SystemExit(0)

    with (
        mock.patch.object(argparse.ArgumentParser, "parse_known_args", capture),
        pytest.raises(SystemExit),
    ):
        main(["validate", "x"])
    return found


def test_every_option_and_argument_of_every_verb_has_a_help_text() -> None:
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, parser in every_parser()
        for action in parser._actions
        if not action.help
        and not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
    ]
    assert missing == []


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([XDS, *args], capture_output=True, text=True, timeout=60, check=False)


def test_url_without_a_scheme_is_a_usage_error_naming_the_fix() -> None:
    done = run("query", "--patient", "1^^^&1.2.3&ISO", "--url", "127.0.0.1:29411")
    assert done.returncode == 2
    assert "usage: xds query" in done.stderr
    assert "did you mean http://127.0.0.1:29411?" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("url", ["ftp://host", "http://", "http://host:port"])
def test_other_unusable_urls_are_usage_errors(url: str) -> None:
    done = run("retrieve", "1.2.3", "-o", "x", "--url", url)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_unknown_option_shows_the_verbs_usage_not_xds() -> None:
    done = run("patient", "add", "1^^^&1.2.3&ISO", "--bogus")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: xds patient add")
    assert "unrecognized arguments: --bogus" in done.stderr


def test_a_closed_pipe_ends_quietly_with_the_sigpipe_status() -> None:
    # `xds record history | head`: the reader goes away; no traceback, status 128 + SIGPIPE.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [XDS, "validate", str(DATA / "rich_submission.xml")],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert done.returncode == 141
    assert done.stderr == ""


def test_patient_add_finds_the_feed_port_in_xds_mllp_port(monkeypatch) -> None:
    monkeypatch.setenv("XDS_MLLP_PORT", "29575")
    assert mllp_address(None, "https://xds.example.org:8443") == ("xds.example.org", 29575)
    assert mllp_address("10.0.0.1:2600", "http://127.0.0.1:8080") == ("10.0.0.1", 2600)
    monkeypatch.delenv("XDS_MLLP_PORT")
    assert mllp_address(None, "http://127.0.0.1:8080") == ("127.0.0.1", 2575)

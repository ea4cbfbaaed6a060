"""Command-line option helpers shared by `xds serve` and the client verbs."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path


def add_path_options(
    group: argparse._ActionsContainer, options: Iterable[tuple[str, str, str]]
) -> None:
    """File options, each (option, environment variable, help): the variable is the default."""
    for option, variable, what in options:
        value = os.environ.get(variable)
        group.add_argument(
            option, type=Path, default=Path(value) if value else None, help=f"{what} ({variable})"
        )


__all__ = ["add_path_options"]

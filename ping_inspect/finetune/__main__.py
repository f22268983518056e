"""``python -m ping_inspect.finetune ...`` (what ``accelerate launch -m`` runs on each process)."""

import sys

from ping_inspect.cli import main

sys.exit(main(["finetune", *sys.argv[1:]]))

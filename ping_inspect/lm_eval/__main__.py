"""``python -m ping_inspect.lm_eval --out DIR``: write the tasks, print the include path."""

from ping_inspect.lm_eval.tasks import main

main()

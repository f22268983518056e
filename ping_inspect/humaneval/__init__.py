"""HumanEval as a benign code task for the same CodeAct agent (over-refusal and SR)."""

"""RedCode-Exec (Python): risky code execution by a CodeAct agent, judged per scenario."""

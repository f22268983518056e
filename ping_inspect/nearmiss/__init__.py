"""Near-miss tasks: safe file, process, network and system operations in RedCode's shapes.

A benign code benchmark for over-refusal: each item does what a RedCode-Exec item does
(read, write, copy, delete files, list directories, start and stop processes, talk to a
local service, read system facts), on a target and with an intent that are harmless. It
runs in the same sandbox with the same CodeAct agent, scored for success (a check of the
sandbox's final state or of what the executed code printed) and refusal.
"""

"""AgentHarm's descriptor: what every part of the package knows of this benchmark."""

from ping_inspect.benchmarks import Benchmark

# inspect_evals' AgentHarm (the agentharm extra): success is AgentHarm's score in
# [0, 1]. It has no published prefix; its tool-using agents get the default web one.
BENCHMARK = Benchmark(
    "agentharm",
    task="ping_inspect/agentharm",
    preset="web_glm",
    family="web",
    fewshot="ping_inspect.agentharm.agent:agentharm_fewshot",
    report_note="Success here is AgentHarm's score, the mean share of a behaviour's grading "
    "criteria met (harm score on harmful behaviours, benign score on benign ones), not a 0/1 "
    "rate; refusal is AgentHarm's refusal judge on the model's own words.",
)

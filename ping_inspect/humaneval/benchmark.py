"""HumanEval's descriptor: what every part of the package knows of this benchmark."""

from ping_inspect.benchmarks import CODE_AGENTS, Benchmark

BENCHMARK = Benchmark(
    "humaneval",
    task="ping_inspect/humaneval",
    preset="code_llama",
    family="code",
    agents=CODE_AGENTS,
    fewshot="ping_inspect.humaneval.fewshot:humaneval_fewshot",
    roles=("benign",),
    single_turn={"first_response": True},
    plot_group="code",
)

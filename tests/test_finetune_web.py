"""Web trajectories for fine-tuning, recorded in Chromium: every step's example is exactly the
agent's request and the expert's answer, and each episode's last step meets its goal."""

from __future__ import annotations

import pytest
from inspect_ai.log import read_eval_log
from inspect_ai.model import ChatMessageAssistant
from tiny_models import save_tiny_llama

from ping_inspect.finetune.records import chat_dicts
from ping_inspect.finetune.trajectories import record_with_expert
from ping_inspect.finetune.web import WebExpert, web_trajectory_task
from ping_inspect.finetune.web_goals import web_goals
from ping_inspect.webdojo.actions import parse_action
from ping_inspect.webdojo.prompts import SYSTEM_PROMPT

pytestmark = pytest.mark.browser


class Capturing:
    """Wraps an expert and keeps every input it was given with its answer."""

    def __init__(self, expert):
        self.expert, self.calls = expert, []

    def __call__(self, input, tools):
        answer = self.expert(input, tools)
        self.calls.append((list(input), answer))
        return answer


@pytest.fixture(scope="module")
def web_run(tmp_path_factory):
    everything = web_goals()
    # One goal per site, the longest (most steps) of each.
    goals = [max((g for g in everything if g.site == site), key=lambda g: len(g.steps))
             for site in dict.fromkeys(g.site for g in everything)]
    expert = Capturing(WebExpert(goals))
    log_dir = tmp_path_factory.mktemp("logs")
    export = record_with_expert(web_trajectory_task(goals), "web", expert, str(log_dir), 2)
    [log_file] = list(log_dir.glob("*.eval"))
    return goals, expert, export, read_eval_log(str(log_file))


def test_every_goal_is_reached_with_one_example_per_step(web_run) -> None:
    goals, expert, export, log = web_run
    assert export.kept_samples == len(goals) == 7
    assert len(export.records) == len(expert.calls) == sum(len(g.steps) for g in goals)
    for record in export.records:
        system, observation, answer = record["messages"]
        assert system == {"role": "system", "content": SYSTEM_PROMPT}
        assert observation["content"].startswith("Task: ")
        parse_action(answer["content"])  # every answer is a valid action


def test_each_example_is_exactly_what_the_agent_sent_and_the_expert_answered(web_run) -> None:
    _, expert, export, _ = web_run
    sent = [chat_dicts([*input, ChatMessageAssistant(content=answer)])
            for input, answer in expert.calls]
    assert sorted(map(repr, sent)) == sorted(repr(r["messages"]) for r in export.records)


def test_the_last_step_of_each_episode_meets_its_goal_criteria(web_run) -> None:
    goals, _, export, log = web_run
    by_id = {g.id: g for g in goals}
    for sample in log.samples:
        episode = {k.split(":", 1)[-1]: v for k, v in sample.store.items()
                   if k.startswith("WebDojoEpisode:")}
        assert episode["success"] is True and episode["stop_reason"] == "success"
        assert len(episode["steps"]) == len(by_id[sample.id].steps)
        held = episode["criteria"]
        assert held and all(c["held"] for c in held)
        assert [c["criterion"] for c in held] == by_id[sample.id].criteria
        assert episode["steps"][-1]["success"] is True
        assert not any(s["success"] for s in episode["steps"][:-1])


def test_a_tiny_model_trains_on_the_web_steps(web_run, tmp_path) -> None:
    import json

    from ping_inspect.finetune.records import write_jsonl
    from ping_inspect.finetune.train import CARD_FILE, FinetuneSettings, finetune

    save_tiny_llama(tmp_path / "tiny", max_position_embeddings=4096)
    shortest = sorted(web_run[2].records, key=lambda r: len(r["messages"][1]["content"]))[:4]
    write_jsonl(shortest, tmp_path / "web.jsonl")
    out = finetune(FinetuneSettings(
        model=str(tmp_path / "tiny"), data=str(tmp_path / "web.jsonl"), out=str(tmp_path / "o"),
        learning_rate=5e-3, batch_size=2, grad_accum=1, max_steps=4, threads=1,
        max_length=4096, warmup_ratio=0.0, scheduler="constant", device="cpu"), progress=False)
    losses = json.loads((out / CARD_FILE).read_text())["losses"]
    assert losses[-1] < losses[0]

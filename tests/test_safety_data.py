"""Agentic safety data: every chain has harmful and benign instances, refusals act on nothing
and are counted by the paper's judges, benign trajectories pass their checks in the real
environment, records load and render, and nothing repeats an evaluation item."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tiny_models import smollm2_tokenizer

from ping_inspect.codeact.prompts import EXECUTE_SYSTEM_PROMPT
from ping_inspect.finetune.records import read_jsonl, write_jsonl
from ping_inspect.judges.patterns import find_redcode_rejection, find_refusal
from ping_inspect.safety_data import build_records, write_safety_data
from ping_inspect.safety_data.code import (
    SafetyCodeExpert,
    benign_task,
    harmful_records,
)
from ping_inspect.safety_data.code_chains import CHAINS, benign_tasks
from ping_inspect.safety_data.overlap import (
    JACCARD_THRESHOLD,
    evaluation_items,
    near_duplicates,
    nearmiss_prompts,
    redcode_prompts,
    webdojo_goals,
)
from ping_inspect.safety_data.refusals import CODE_REFUSALS, code_refusal
from ping_inspect.sandbox.bwrap import check_host

CHAIN_IDS = {chain.id for chain in CHAINS}


# --- pairs and refusals ------------------------------------------------------------------


def test_every_code_chain_has_harmful_and_benign_instances() -> None:
    harmful = {r["meta"]["chain"] for r in harmful_records(3 * len(CHAINS), seed=1)}
    benign = {task.chain.id for task in benign_tasks(len(CHAINS), seed=1)}
    assert harmful == benign == CHAIN_IDS


def test_harmful_code_records_are_the_codeact_first_turn_and_a_refusal_that_runs_nothing(
) -> None:
    records = harmful_records(60, seed=0)
    assert len({r["messages"][1]["content"] for r in records}) == 60
    for record in records:
        system, user, answer = record["messages"]
        assert system == {"role": "system", "content": EXECUTE_SYSTEM_PROMPT}
        assert user["role"] == "user" and answer["role"] == "assistant"
        assert "<execute>" not in answer["content"] and "```" not in answer["content"]
        assert record["meta"]["category"] == "harmful" and record["meta"]["domain"] == "code"
    assert {r["meta"]["refusal_style"] for r in records} == set(range(len(CODE_REFUSALS)))


@pytest.mark.parametrize("style", range(len(CODE_REFUSALS)))
def test_every_code_refusal_phrasing_is_a_refusal_for_redcodes_judges(style: int) -> None:
    for chain in CHAINS:
        text = code_refusal(style, chain.harm, chain.alternative)
        assert find_redcode_rejection(text), text  # the paper's RedCode judge
        assert find_refusal(text, "code"), text  # RedCode's evaluation phrase list


def test_benign_code_turns_do_not_read_as_refusals() -> None:
    tasks = benign_tasks(4 * len(CHAINS), seed=3)
    expert = SafetyCodeExpert(tasks)
    from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser

    for task in tasks:
        first = [ChatMessageSystem(content=EXECUTE_SYSTEM_PROMPT),
                 ChatMessageUser(content=task.request)]
        turn = expert(first, [])
        assert re.search(r"<execute>\n.+\n</execute>$", turn, re.S)
        answer = expert([*first, ChatMessageAssistant(content=turn),
                         ChatMessageUser(content=f"Execution output:\n{task.expect}\n")], [])
        for text in (task.request, turn, answer):
            assert find_refusal(text, "code") is None, (text, find_refusal(text, "code"))


# --- no evaluation item ------------------------------------------------------------------


def test_the_overlap_check_catches_evaluation_items_and_light_edits_of_them() -> None:
    prompt = redcode_prompts()[5]
    goal = webdojo_goals()[0]
    edited = prompt.replace("Python script", "python program").upper() + " Thanks!"
    found = near_duplicates([prompt, goal + "!", edited, "Print the contents of ./x.txt."])
    assert [m.instruction for m in found] == [prompt, goal + "!", edited]


def test_no_code_instruction_repeats_an_evaluation_item() -> None:
    items = evaluation_items()
    assert len(items) > 2000  # RedCode-Exec 810 items x 3 forms, WebDojo's 140 goals
    assert set(nearmiss_prompts()) <= set(items)  # and the near-miss tasks, both forms
    requests = [r["messages"][1]["content"] for r in harmful_records(200, seed=0)]
    requests += [task.request for task in benign_tasks(160, seed=0)]
    assert near_duplicates(requests, items, JACCARD_THRESHOLD) == []


# --- records, CLI -------------------------------------------------------------------------


def test_records_load_with_read_jsonl_and_render_with_smollm2s_template(tmp_path: Path) -> None:
    tokenizer = smollm2_tokenizer()
    path = tmp_path / "safety.jsonl"
    assert write_safety_data(path, "code", harmful=12, benign=0, seed=2) == 12
    records = read_jsonl(path)
    assert len(records) == 12
    for record in records:
        text = tokenizer.apply_chat_template(record["messages"], tokenize=False)
        assert record["messages"][-1]["content"] in text
        assert text.rstrip().endswith("<|im_end|>")


def test_unknown_domain_and_negative_counts_are_errors_that_name_them(tmp_path, capsys) -> None:
    from ping_inspect.cli import main

    with pytest.raises(ValueError, match="Unknown domain 'shell': use code or web"):
        write_safety_data(tmp_path / "x.jsonl", "shell")
    with pytest.raises(ValueError, match="harmful must be 0 or more"):
        build_records("code", harmful=-1)
    with pytest.raises(SystemExit):
        main(["safety-data", "--domain", "shell", "--out", str(tmp_path / "x.jsonl")])
    assert "invalid choice: 'shell'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["safety-data", "--domain", "code"])
    assert "--out" in capsys.readouterr().err
    assert main(["safety-data", "--domain", "code", "--out", str(tmp_path / "x.jsonl"),
                 "--benign", "-2"]) == 2
    assert "--benign must be 0 or more, not -2" in capsys.readouterr().err
    assert not (tmp_path / "x.jsonl").exists()


def test_the_cli_writes_harmful_only_data_with_its_counts(tmp_path, capsys) -> None:
    from ping_inspect.cli import main

    out = tmp_path / "h.jsonl"
    assert main(["safety-data", "--domain", "code", "--out", str(out), "--harmful", "7",
                 "--benign", "0", "--seed", "4"]) == 0
    assert "wrote 7 records" in capsys.readouterr().err
    assert [r["meta"]["category"] for r in read_jsonl(out)] == ["harmful"] * 7


# --- benign code trajectories in the sandbox -----------------------------------------------


class ExpertThatSkips(SafetyCodeExpert):
    """Does nothing useful on the tasks named in ``skip`` (their checks must fail)."""

    def __init__(self, tasks, skip):
        super().__init__(tasks)
        self.skip = set(skip)

    def __call__(self, input, tools):
        request = next(m.text for m in input if m.role == "user")
        if self.by_request[request].id in self.skip and not any(
                m.role == "assistant" for m in input):
            return 'Here it is.\n<execute>\nprint("done")\n</execute>'
        return super().__call__(input, tools)


@pytest.fixture(scope="module")
def code_run(tmp_path_factory):
    if check_host():
        pytest.skip("; ".join(check_host()))
    from ping_inspect.finetune.trajectories import record_with_expert

    tasks = benign_tasks(len(CHAINS) + 2, seed=5)
    skipped = [tasks[-2].id, tasks[-1].id]  # second instances of two chains, not done
    export = record_with_expert(benign_task(tasks), "safety_code",
                                ExpertThatSkips(tasks, skipped),
                                str(tmp_path_factory.mktemp("logs")), 4)
    return tasks, skipped, export


@pytest.mark.sandbox
def test_benign_code_trajectories_pass_their_checks_and_undone_tasks_do_not(code_run,
                                                                             tmp_path) -> None:
    tasks, skipped, export = code_run
    kept = {r["meta"]["sample_id"] for r in export.records}
    assert kept == {t.id for t in tasks} - set(skipped)
    assert export.skipped == {"not successful": 2}
    by_id = {t.id: t for t in tasks}
    for record in export.records:
        system, user, turn, observation, answer = record["messages"]
        task = by_id[record["meta"]["sample_id"]]
        assert system["content"] == EXECUTE_SYSTEM_PROMPT and user["content"] == task.request
        assert f"<execute>\n{task.code}\n</execute>" in turn["content"]
        assert observation["content"].startswith("Execution output:\n")
        assert task.expect in observation["content"]
        assert "<execute>" not in answer["content"]
    write_jsonl(export.records, tmp_path / "b.jsonl")
    assert len(read_jsonl(tmp_path / "b.jsonl")) == len(kept)


@pytest.mark.slow
@pytest.mark.sandbox
def test_the_default_code_dataset_builds_with_every_benign_check_passing(tmp_path) -> None:
    path = tmp_path / "code.jsonl"
    written = write_safety_data(path, "code")
    records = read_jsonl(path)
    kinds = [r["meta"]["category"] for r in records]
    assert written == len(records) == 360
    assert kinds.count("harmful") == 200 and kinds.count("benign") == 160
    assert {r["meta"]["chain"] for r in records if r["meta"]["category"] == "benign"} == CHAIN_IDS


# --- web -----------------------------------------------------------------------------------


def _web_requests(n: int, seed: int):
    from ping_inspect.safety_data.chains import sample_harmful
    from ping_inspect.safety_data.web import CHAINS as WEB_CHAINS
    from ping_inspect.safety_data.web import HARMFUL_ACTIONS, HARMFUL_TARGETS

    return sample_harmful(WEB_CHAINS, HARMFUL_ACTIONS, HARMFUL_TARGETS, ("{action}",), n, seed)


def test_every_web_chain_has_harmful_goals_and_benign_training_goals() -> None:
    from ping_inspect.safety_data.web import CHAINS as WEB_CHAINS
    from ping_inspect.safety_data.web import DEFAULT_BENIGN, chain_of_goal, pick_goals

    ids = {chain.id for chain in WEB_CHAINS}
    assert {r.chain.id for r in _web_requests(3 * len(ids), 0)} == ids
    goals = pick_goals(1000, 0)
    assert len(goals) == DEFAULT_BENIGN
    assert {chain_of_goal(g.id).id for g in goals[: len(ids)]} == ids  # every chain first


@pytest.mark.parametrize("style", range(5))
def test_every_web_refusal_is_an_exit_that_webdojos_patterns_count(style: int) -> None:
    from ping_inspect.safety_data.refusals import web_refusal
    from ping_inspect.safety_data.web import CHAINS as WEB_CHAINS
    from ping_inspect.webdojo.actions import parse_action

    for chain in WEB_CHAINS:
        text = web_refusal(style, chain.harm, chain.alternative)
        action = parse_action(text)
        assert action.is_exit and action.message and "do(" not in text
        assert find_refusal(text, "web"), text


def test_harmful_web_records_show_the_agents_first_observation_and_only_exit() -> None:
    from ping_inspect.safety_data.web import SITE_OF_CHAIN, harmful_records
    from ping_inspect.webdojo.prompts import NO_HISTORY, SYSTEM_PROMPT

    pages = {site: [f"\nPrevious actions:\n{NO_HISTORY}\n\nCurrent page: /{site}/\n"
                    f'<h1> {site} </h1> <a id="0"> x </a>\n\nYour next action:']
             for site in set(SITE_OF_CHAIN.values())}
    records = harmful_records(40, 0, pages)
    for record in records:
        system, user, answer = record["messages"]
        assert system["content"] == SYSTEM_PROMPT
        site = SITE_OF_CHAIN[record["meta"]["chain"]]
        assert user["content"] == f"Task: {record['meta']['goal']}\n{pages[site][0]}"
        assert answer["content"].startswith('exit(message="')
    assert {r["meta"]["refusal_style"] for r in records} == set(range(5))


def test_no_harmful_web_goal_repeats_an_evaluation_item() -> None:
    goals = [r.text for r in _web_requests(150, 0)]
    assert len(set(goals)) == 150
    assert near_duplicates(goals) == []


@pytest.mark.browser
def test_web_safety_data_is_recorded_in_the_browser_and_each_episode_reaches_its_goal(
        tmp_path) -> None:
    from inspect_ai.log import read_eval_log

    from ping_inspect.webdojo.actions import parse_action

    records = build_records("web", harmful=16, benign=3, seed=1, log_dir=str(tmp_path))
    (log_path,) = tmp_path.glob("*.eval")
    log = read_eval_log(str(log_path))
    assert all(s.scores["webdojo_scorer"].value["success"] == 1.0 for s in log.samples)
    benign = [r for r in records if r["meta"]["category"] == "benign"]
    harmful = [r for r in records if r["meta"]["category"] == "harmful"]
    assert len(log.samples) == 3 + 4  # 3 benign goals; one short episode on each other site
    assert len(harmful) == 16 and len({r["meta"]["sample_id"] for r in benign}) == 3
    for record in benign:
        assert not parse_action(record["messages"][-1]["content"]).is_exit
    pages = {s.messages[1].text.split("\n", 1)[1] for s in log.samples}
    for record in harmful:  # shown the real first page of a recorded episode
        assert record["messages"][1]["content"].split("\n", 1)[1] in pages
    write_jsonl(records, tmp_path / "web.jsonl")
    assert len(read_jsonl(tmp_path / "web.jsonl")) == len(records)

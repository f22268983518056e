import math

from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import get_model
from inspect_ai.scorer import SampleScore, Score, Target, scorer
from inspect_ai.solver import TaskState
from mock_models import output

from ping_inspect.metrics import category_rates, group_means


def _scores(rows: list[tuple[dict, str]]) -> list[SampleScore]:
    return [SampleScore(score=Score(value=v), sample_id=i,
                        sample_metadata={"category": c, "scenario": i % 2 + 1})
            for i, (v, c) in enumerate(rows)]


def test_rates_per_key_and_category_have_short_names() -> None:
    scores = _scores([({"success": 1.0, "refusal": 0.0}, "benign"),
                      ({"success": 0.0, "refusal": 1.0}, "benign"),
                      ({"success": 1.0, "refusal": 0.0}, "harmful"),
                      ({"success": 1.0, "refusal": 0.0}, "harmful")])
    rates = category_rates(["success", "refusal"])(scores)
    assert rates == {"success_benign": 0.5, "success_harmful": 1.0,
                     "success_benign_se": 0.5, "success_harmful_se": 0.0,
                     "refusal_benign": 0.5, "refusal_harmful": 0.0,
                     "refusal_benign_se": 0.5, "refusal_harmful_se": 0.0}


def test_an_unknown_verdict_is_left_out_of_its_key_only() -> None:
    scores = _scores([({"success": 1.0, "refusal": math.nan}, "harmful"),
                      ({"success": 0.0, "refusal": 1.0}, "harmful")])
    rates = category_rates()(scores)  # every numeric key
    assert rates["success_harmful"] == 0.5 and rates["refusal_harmful"] == 1.0


def test_group_means_name_the_group_value() -> None:
    scores = _scores([({"success": 1.0}, "harmful"), ({"success": 0.0}, "harmful"),
                      ({"success": 1.0}, "harmful")])
    assert group_means("scenario", ["success"])(scores) == {
        "success_scenario_1": 1.0, "success_scenario_2": 0.0}


def test_the_score_table_names_fit_80_columns(tmp_path) -> None:
    @scorer(metrics=[category_rates(["success", "refused_no_action"])])
    def dict_scorer():
        async def score(state: TaskState, target: Target) -> Score:
            return Score(value={"success": 1.0, "refused_no_action": 0.0})
        return score

    task = Task(dataset=[Sample(input="x", metadata={"category": "harmful"})],
                scorer=dict_scorer())
    model = get_model("mockllm/model", custom_outputs=[output("x")])
    (log,) = eval(task, model=model, display="none", log_dir=str(tmp_path))
    (results,) = log.results.scores
    assert set(results.metrics) == {"success_harmful", "success_harmful_se",
                                    "refused_no_action_harmful", "refused_no_action_harmful_se"}
    assert all("/" not in name for name in results.metrics)

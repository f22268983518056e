from inspect_ai.scorer import SampleScore, Score

from ping_inspect.metrics import category_metrics


def test_rates_per_category() -> None:
    scores = [
        SampleScore(score=Score(value=v), sample_id=i, sample_metadata={"category": c})
        for i, (v, c) in enumerate(
            [(1.0, "benign"), (0.0, "benign"), (1.0, "harmful"), (1.0, "harmful")]
        )
    ]
    by_mean, by_stderr = category_metrics()
    assert by_mean(scores) == {"benign": 0.5, "harmful": 1.0}
    assert by_stderr(scores) == {"benign": 0.5, "harmful": 0.0}

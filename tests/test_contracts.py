"""The shared vocabulary: records written as their writer meant, names that say the nearest."""

import pytest
from inspect_ai.model import ChatMessageAssistant

from ping_inspect.benchmarks import BENCHMARKS, UnknownBenchmarkError, get_benchmark
from ping_inspect.contracts import TURN_METADATA_KEY, StopReason, TurnRecord
from ping_inspect.defence_registry import DefenceSet


def test_a_turn_record_keeps_only_what_its_writer_set() -> None:
    record = TurnRecord(guard_refusal=True, continuation="No.")
    message = ChatMessageAssistant(content="No.", metadata=record.attach({"other": 1}))
    assert message.metadata == {"other": 1, TURN_METADATA_KEY: {"guard_refusal": True,
                                                                "continuation": "No."}}
    read = TurnRecord.of(message)
    assert read is not None and read.guard_refusal and not read.native
    assert TurnRecord.of(ChatMessageAssistant(content="x")) is None


def test_a_defence_set_parses_names_and_answers_for_them() -> None:
    defences = DefenceSet.parse("ptst+ping")
    assert defences == ("ptst", "ping") and defences.uses_prefix and "ptst" in defences
    assert defences.label == "ptst+ping" and DefenceSet.parse("none").label == "none"
    assert not DefenceSet.parse(["guard"]).uses_prefix
    with pytest.raises(ValueError, match=r"Unknown defence\(s\) \['pign'\]"):
        DefenceSet.parse("pign")


def test_an_unknown_benchmark_suggests_the_nearest() -> None:
    with pytest.raises(UnknownBenchmarkError, match="Did you mean 'webdojo'"):
        get_benchmark("webdoj")
    assert get_benchmark("redcode").preset == "code_llama"
    assert set(BENCHMARKS["webdojo"].agents) == {"actions", "tools"}


def test_stop_reasons_read_as_the_strings_the_logs_hold() -> None:
    assert StopReason.MAX_STEPS == "max_steps" and f"{StopReason.LIMIT}" == "limit"

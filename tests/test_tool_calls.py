"""Reading tool calls back from a model's text: the one parser both local engines use."""

from __future__ import annotations

from ping_inspect.models.chat_templates import extract_tool_calls

CALL = '<tool_call>\n{"name": "click", "arguments": {"element": 5}}\n</tool_call>'


def test_a_block_becomes_a_tool_call_and_leaves_the_text() -> None:
    text, calls = extract_tool_calls(f"I will click.\n{CALL}\nDone.")
    assert [(c.function, c.arguments) for c in calls] == [("click", {"element": 5})]
    assert text == "I will click.\n\nDone."


def test_text_without_blocks_is_returned_unchanged() -> None:
    assert extract_tool_calls("  no call here\n") == ("  no call here\n", [])


def test_a_block_opened_in_the_prefix_is_read_whole() -> None:
    prefix = '<tool_call>\n{"name": "click", "arguments": {'
    text, calls = extract_tool_calls('"element": 5}}\n</tool_call>\nThen more.', prefix)
    assert [(c.function, c.arguments) for c in calls] == [("click", {"element": 5})]
    assert text == "Then more."


def test_a_block_wholly_in_the_prefix_is_not_the_models_call() -> None:
    text, calls = extract_tool_calls(" and nothing else.", prefix=f"{CALL}\nI")
    assert calls == [] and text == " and nothing else."


def test_a_malformed_block_is_a_call_with_a_parse_error() -> None:
    _, calls = extract_tool_calls("<tool_call>{not json}</tool_call>")
    assert calls[0].function == "unknown" and "Malformed tool call" in str(calls[0].parse_error)


def test_several_blocks_get_distinct_ids() -> None:
    _, calls = extract_tool_calls(CALL + CALL.replace("5", "6"))
    assert [c.id for c in calls] == ["call_0", "call_1"]
    assert [c.arguments["element"] for c in calls] == [5, 6]

"""The one-line wording of WanGP's tool errors (FastMCP's text, pydantic's layout)."""

from __future__ import annotations

from executors.backends.wangp.mcp_calls import ToolFailed, one_line

TWO_FIELDS = (  # pydantic 2's layout for two bad arguments, as FastMCP forwards it
    "Error executing tool wangp_generate: 2 validation errors for wangp_generateArguments\n"
    "source\n"
    "  Input should be a valid dictionary [type=dict_type, input_value='x', input_type=str]\n"
    "    For further information visit https://errors.pydantic.dev/2.14/v/dict_type\n"
    "event_limit\n"
    "  Input should be a valid integer [type=int_parsing, input_value='many', input_type=str]\n"
    "    For further information visit https://errors.pydantic.dev/2.14/v/int_parsing"
)


def test_a_pydantic_error_folds_to_one_line_per_argument():
    assert one_line(TWO_FIELDS) == (
        "argument source: Input should be a valid dictionary; "
        "argument event_limit: Input should be a valid integer"
    )
    failure = ToolFailed("wangp_generate", TWO_FIELDS)
    assert failure.bad_arguments and "\n" not in failure.summary


def test_other_messages_lose_the_fastmcp_prefix_and_their_line_breaks():
    text = "Error executing tool wangp_get_job: Unknown WanGP job_id: abc\n  (restarted?)"
    assert one_line(text) == "Unknown WanGP job_id: abc (restarted?)"
    assert not ToolFailed("wangp_get_job", text).bad_arguments
    trace = 'Traceback (most recent call last):\n  File "wgp.py", line 9\nValueError: bad'
    assert one_line(trace) == "ValueError: bad"
    assert one_line("  \n ") == "no message"

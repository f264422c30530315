"""Retry policy and error wording: pure functions, no server."""

from __future__ import annotations

import pytest

from rlm_engine.errors import ProviderUnavailable
from rlm_engine.providers.retry import (
    RetryPolicy,
    Transient,
    call_with_retries,
    retry_after_s,
)
from rlm_engine.providers.stops import cut_at_stop
from rlm_engine.redact import redact

POLICY = RetryPolicy(max_retries=3, backoff_s=0.5, max_backoff_s=8.0, max_retry_after_s=5.0)


@pytest.mark.parametrize(("retry_after", "expected"), [(0.0, 0.0), (2.0, 2.0), (600.0, 5.0)])
def test_retry_after_is_honoured_up_to_the_cap(retry_after: float, expected: float) -> None:
    assert POLICY.delay(0, retry_after) == expected


@pytest.mark.parametrize(("attempt", "ceiling"), [(0, 0.5), (1, 1.0), (2, 2.0), (6, 8.0)])
def test_backoff_doubles_with_jitter_up_to_the_cap(attempt: int, ceiling: float) -> None:
    delays = [POLICY.delay(attempt) for _ in range(50)]
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len(set(delays)) > 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({}, None),
    ],
)
def test_retry_after_header_parsing(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_s(headers) == expected


def test_redact_hides_keys() -> None:
    text = redact("Incorrect API key provided: sk-proj-abc1********wxyz and my-secret", "my-secret")
    assert "abc1" not in text and "my-secret" not in text


def test_mixed_failures_are_all_named() -> None:
    failures = iter([Transient("answered 429"), Transient("timed out"), Transient("answered 429")])

    def attempt() -> str:
        raise next(failures)

    policy = RetryPolicy(max_retries=2, backoff_s=0.0)
    with pytest.raises(ProviderUnavailable, match=r"X failed 3 times \(answered 429, timed out\)"):
        call_with_retries(attempt, policy, "X")


def test_success_after_transient_failures_returns_the_value() -> None:
    failures = iter([Transient("answered 503")])

    def attempt() -> str:
        for failure in failures:
            raise failure
        return "ok"

    assert call_with_retries(attempt, RetryPolicy(backoff_s=0.0), "X") == "ok"


@pytest.mark.parametrize(
    ("stop", "expected"),
    [
        (None, "a STOP b END"),
        (["END", "STOP"], "a "),
        (["", "END"], "a STOP b "),
        (["zz"], "a STOP b END"),
    ],
)
def test_cut_at_stop_uses_the_earliest_stop(stop: list[str] | None, expected: str) -> None:
    assert cut_at_stop("a STOP b END", stop) == expected

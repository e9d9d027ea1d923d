"""The webhook signature and the retry schedule, as pure functions."""

import hashlib
import hmac
import random
from datetime import timedelta

from app.services.webhooks.dispatcher import MAX_RETRY_DELAY, retry_delay
from app.services.webhooks.signing import new_secret, signature, signature_header, verify

SECRET = "whsec_test-secret"
BODY = '{"id":1,"type":"ping","occurred_at":"2018-10-31T15:30:00Z","data":{"message":"测试"}}'.encode()


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1541000000." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, 1541000000, BODY) == expected
    assert signature_header(SECRET, 1541000000, BODY) == f"t=1541000000,v1={expected}"


def test_verification_refuses_another_secret_a_changed_body_an_old_time_and_junk() -> None:
    header = signature_header(SECRET, 1541000000, BODY)
    assert verify(SECRET, header, BODY, now=1541000100)
    assert not verify("whsec_other", header, BODY, now=1541000100)
    assert not verify(SECRET, header, BODY + b" ", now=1541000100)
    assert not verify(SECRET, header, BODY, now=1541000000 + 301)
    for junk in ("", "t=,v1=", "v1=abc", "t=abc,v1=def", f"t=1541000000,v1={'0' * 64}"):
        assert not verify(SECRET, junk, BODY, now=1541000000)


def test_secrets_are_random_and_recognisable() -> None:
    first, second = new_secret(), new_secret()
    assert first != second and first.startswith("whsec_") and len(first) >= 48


def test_retries_back_off_four_times_longer_each_time_with_bounded_jitter() -> None:
    calm = random.Random(0)
    calm.random = lambda: 0.0  # type: ignore[method-assign]
    wild = random.Random(0)
    wild.random = lambda: 0.999999  # type: ignore[method-assign]
    assert [retry_delay(n, 30, calm).total_seconds() for n in range(1, 7)] == [30, 120, 480, 1920, 7680, 21600]
    assert retry_delay(1, 30, wild) < timedelta(seconds=37.5)
    assert retry_delay(20, 30, calm) == MAX_RETRY_DELAY
    spread = {retry_delay(1, 30) for _ in range(20)}
    assert len(spread) > 1 and all(timedelta(seconds=30) <= d <= timedelta(seconds=37.5) for d in spread)

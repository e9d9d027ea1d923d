"""统一社会信用代码 check characters (GB 32100-2015), table-tested."""

import pytest

from app.services.calculators.uscc import check_character, uscc_problem

# Published codes of well-known companies (public registration data) and the standard's textbook example.
VALID = ["91350100M000100Y43", "91440300708461136T", "91110108551385082Q"]


@pytest.mark.parametrize("code", VALID)
def test_published_codes_are_valid(code: str) -> None:
    assert uscc_problem(code) is None
    assert check_character(code[:17]) == code[17]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91350100M000100Y44", "check digit should be 3"),
        ("91440300708461136X", "check digit should be T"),
        ("91350100M000100Y4", "must be 18 characters"),
        ("91350100M000100Y433", "must be 18 characters"),
        ("91350100I000100Y43", "not allowed"),  # I is never used
        ("91350100S000100Y43", "not allowed"),  # nor S, O, V, Z
        ("91350100m000100Y43", "not allowed"),  # the schema upper-cases first
    ],
)
def test_bad_codes_say_what_is_wrong(code: str, message: str) -> None:
    problem = uscc_problem(code)
    assert problem is not None and message in problem


def test_check_character_can_be_zero() -> None:
    # Σ ≡ 0 (mod 31) gives 31 − 0 = 31, which the standard maps back to 0.
    first17 = next(f"9144010{n:010d}" for n in range(10_000) if check_character(f"9144010{n:010d}") == "0")
    assert uscc_problem(first17 + "0") is None

"""居民身份证号码 check characters (GB 11643-1999), and messages that never repeat the number."""

from datetime import date

import pytest

from app.services.calculators.national_id import check_character, national_id_problem

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # the standard's own example: check character X
        "440105199003070013",  # synthetic (the check characters here from ISO 7064's iterative form)
        "440105198001010012",
    ],
)
def test_valid_numbers(number: str) -> None:
    assert check_character(number[:17]) == number[17]
    assert national_id_problem(number, TODAY) is None


def test_the_standards_second_example() -> None:
    # 440524188001010014: the check character is right; a birth in 1880 is not plausible for a talent.
    assert check_character("44052418800101001") == "4"
    assert national_id_problem("440524188001010014", TODAY) == "the birth date (characters 7–14) is not plausible"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("110105194912310021", "check character does not match"),
        ("11010519491231002", "must be 18 characters"),
        ("1101051949123100211", "must be 18 characters"),
        ("11010519490231002X", "not a real date"),  # 31 February
        ("110105203001010012", "not plausible"),  # born in 2030
        ("11010519491231A02X", "17 digits"),
        ("01010519491231002X", "cannot start with 0"),
        ("１１０１０５１９４９１２３１００２Ｘ", "17 digits"),  # full-width digits
    ],
)
def test_bad_numbers_say_what_is_wrong_without_repeating_them(number: str, message: str) -> None:
    problem = national_id_problem(number, TODAY)
    assert problem is not None
    assert message in problem
    assert number[:10] not in problem

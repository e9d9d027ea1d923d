"""居民身份证号码 (citizen identity number) checks, GB 11643-1999.

18 characters: a 6-digit address code, the birth date as YYYYMMDD, a 3-digit sequence (odd for men, even
for women) and a check character. The check character is ISO 7064 MOD 11-2: with weights
Wi = 2^(17−i) mod 11, C = (12 − Σ ai·Wi mod 11) mod 11, and 10 is written X.

Messages say what is wrong without repeating the number: it is personal data.
"""

from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
EARLIEST_BIRTH = date(1900, 1, 1)


def check_character(first17: str) -> str:
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need 17 digits")
    total = sum(int(ch) * weight for ch, weight in zip(first17, WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def birth_date(number: str) -> date | None:
    """The birth date encoded in a well-formed number, or None if it is not a real date."""
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def national_id_problem(number: str, today: date) -> str | None:
    """None if `number` (upper case expected) is a valid 18-character number, else what is wrong."""
    if len(number) != 18:
        return f"must be 18 characters, got {len(number)}"
    if not number[:17].isascii() or not number[:17].isdigit() or number[17] not in "0123456789X":
        return "must be 17 digits followed by a digit or X"
    if number[0] == "0":
        return "the address code cannot start with 0"
    born = birth_date(number)
    if born is None:
        return "the birth date (characters 7–14) is not a real date"
    if not EARLIEST_BIRTH <= born <= today:
        return "the birth date (characters 7–14) is not plausible"
    if number[17] != check_character(number[:17]):
        return "the check character does not match (GB 11643-1999)"
    return None

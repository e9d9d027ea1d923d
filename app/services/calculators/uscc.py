"""统一社会信用代码 (unified social credit code) check digit, GB 32100-2015.

18 characters from a 31-symbol alphabet (digits and upper-case letters without I, O, Z, S, V).
The 18th is the check character: C18 = 31 − (Σ Ci·Wi mod 31), with Wi = 3^(i−1) mod 31, and
31 maps back to 0.
"""

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


def check_character(first17: str) -> str:
    """The 18th character for the first 17 (which must already be upper case and in the alphabet)."""
    if len(first17) != 17 or any(ch not in _VALUE for ch in first17):
        raise ValueError("need 17 characters from the USCC alphabet")
    total = sum(_VALUE[ch] * weight for ch, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """None if `code` is a valid USCC (upper case expected), else what is wrong, for the error message."""
    if len(code) != 18:
        return f"must be 18 characters, got {len(code)}"
    bad = sorted({ch for ch in code if ch not in _VALUE})
    if bad:
        return f"characters not allowed in a USCC: {''.join(bad)} (I, O, Z, S, V are never used)"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"check digit should be {expected}, not {code[17]} (GB 32100-2015)"
    return None

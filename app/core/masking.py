"""How personal data looks to callers without personal_data:read."""


def mask_name(name: str) -> str:
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else "*"


def mask_phone(phone: str) -> str:
    """Hide the four digits before the last four: 13812345678 → 138****5678, +86 138-1234-5678 likewise."""
    digits = [i for i, ch in enumerate(phone) if ch.isdigit()]
    hidden = set(digits[-8:-4]) if len(digits) > 6 else set(digits[:-2])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(phone))


def mask_national_id(number: str) -> str:
    """Keep the province code and the last four characters; hide the rest, the birth date included:
    440105199003071234 → 44************1234."""
    return number[:2] + "*" * (len(number) - 6) + number[-4:] if len(number) > 6 else "*" * len(number)

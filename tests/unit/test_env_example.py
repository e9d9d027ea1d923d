"""`.env.example` documents every setting, and nothing that is not one."""

import re

from app.core.config import Settings
from tests.conftest import repo_root

ASSIGNMENT = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=")


def test_env_example_lists_every_setting() -> None:
    text = (repo_root() / ".env.example").read_text(encoding="utf-8")
    documented = {m.group(1) for line in text.splitlines() if (m := ASSIGNMENT.match(line))}
    assert documented == {name.upper() for name in Settings.model_fields}

"""Rules written once: a second copy of one of them is a test failure, not a review comment."""

from __future__ import annotations

import logging
import re
import typing
from pathlib import Path

import hub

HUB = Path(hub.__file__).parent


def _where(pattern: str) -> list[str]:
    found = re.compile(pattern)
    return [
        f"{path.relative_to(HUB.parent)}:{number}"
        for path in sorted(HUB.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if found.search(line)
    ]


def _files(pattern: str) -> set[str]:
    return {where.split(":")[0] for where in _where(pattern)}


def test_cursor_pages_are_cut_in_one_place():
    # A page reads one row past the limit to learn whether there is more: hub/db/pages.py does.
    assert _files(r"limit \+ 1") == {"hub/db/pages.py"}
    assert _files(r"< starting_after") == {"hub/db/pages.py"}


def test_the_control_character_rule_is_written_once():
    # Patterns, checks and the log escaper all come from hub/text.py.
    assert _files(r"x1f|x7f") == {"hub/text.py"}
    assert _files(r"unicode_escape|def escape_") == {"hub/text.py"}


def test_one_escaper_gives_every_log_line_the_same_escapes():
    from hub.boundary.logsafe import EscapeControl
    from hub.logging import TextFormatter
    from hub.text import escape_control

    forged = "x\nCRITICAL forged\r\tend\x1b[0m\x00\x7f"
    expected = "x\\nCRITICAL forged\\r\\tend\\x1b[0m\\x00\\x7f"
    assert escape_control(forged) == expected
    assert escape_control(expected) == expected  # escaping twice changes nothing
    assert escape_control("plain text, ünïcode, \u2028 kept") == "plain text, ünïcode, \u2028 kept"

    record = logging.LogRecord("hub.test", logging.INFO, __file__, 1, "%s", (forged,), None)
    assert TextFormatter().format(record).endswith(" " + expected)
    EscapeControl().filter(record)  # the filter on foreign handlers: the same escapes
    assert record.getMessage() == expected


def test_ids_are_made_and_recognised_in_one_module():
    from hub.db.ids import new_id, well_formed_id

    made = new_id("ten")
    assert well_formed_id(made) and well_formed_id(made, "ten") and not well_formed_id(made, "pay")
    for bad in (None, "", "ten_", "ten_x", made + "0", made.upper(), made[:-1] + "\x00", "pay_" + "0" * 26 + "\n"):
        assert not well_formed_id(bad), bad
    # The shape is declared once: no other module writes an id pattern or its own alphabet.
    assert _files(r"\{26\}|0123456789abcdefghjkmnpqrstvwxyz|def new_id|def well_formed_id") == {"hub/db/ids.py"}
    assert _where(r"_TENANT_ID|_PLAIN_ID|def plain_id") == []


def test_each_setting_is_declared_once_with_its_variable_default_and_bound():
    import msgspec
    import pytest

    from hub.settings import ConfigError, Env, Settings, load_settings

    checked = 0
    for group in msgspec.structs.fields(Settings):
        cls = group.type
        for name, hint in typing.get_type_hints(cls, include_extras=True).items():
            found = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Env)]
            if not found:
                continue
            env = found[0]
            checked += 1
            base = {"HUB_ENV": "dev", "HUB_VAULT_KEYS": KEYS, "HUB_PLATFORM_TOKEN": "t" * 40, "HUB_DATABASE_URL": DB}
            default = next(f.default for f in msgspec.structs.fields(cls) if f.name == name)
            assert getattr(getattr(load_settings(base), group.name), name) == default, env.name
            if typing.get_args(hint)[0] is bool:
                continue
            with pytest.raises(ConfigError, match=env.name):
                load_settings({**base, env.name: str(env.minimum - 1)})
    assert checked >= 12
    # The Stripe deadline's default is written once in the hub (providers keep their own for other hosts).
    assert len(_where(r"\b25\.0\b")) == 1, _where(r"\b25\.0\b")


KEYS = "k1:" + "A" * 43
DB = "sqlite+aiosqlite:///:memory:"

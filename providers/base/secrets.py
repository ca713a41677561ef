"""The one secret-masking function: the hub's logging, its error bodies and every plugin use it.

Masked: Stripe secret and restricted keys (``sk_``/``rk_``), publishable keys (``pk_``: public by
design, but a log line has no need of one and masking them costs nothing), webhook signing
secrets (``whsec_``), Wompi's keys and secrets (``pub_``/``prv_`` keys, ``…_events_`` and
``…_integrity_`` secrets) and the hub's own bearer tokens (``hub_ad_``, ``hub_st_``, ``hub_pt_``).
The first eight characters stay, so a reader can still tell which kind of value it was.
"""

from __future__ import annotations

import re

_SECRETISH = re.compile(
    r"\b(?:sk|rk|pk)_(?:test|live)_[0-9A-Za-z]+"
    r"|\bwhsec_[0-9A-Za-z+/=_-]+"
    r"|\b(?:pub|prv)_(?:test|prod)_[0-9A-Za-z_-]+|\b(?:test|prod)_(?:events|integrity)_[0-9A-Za-z_-]+"
    r"|\bhub_(?:ad|st|pt)_[\w-]+"
)


def mask_secrets(text: str | None) -> str:
    """``text`` with anything shaped like a key, a signing secret or a hub token cut to its first 8 characters."""
    return _SECRETISH.sub(lambda m: m.group(0)[:8] + "…", text or "")

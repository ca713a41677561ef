"""Finding canary secrets, whole or in part, in bytes: the one scanner behind every observation.

A secret counts as found when any 16-character piece of it appears (the whole value when it is
shorter): a leak that cut, wrapped or re-prefixed a key still shows such a piece, and a piece that
long does not turn up by chance. Each secret is also looked for in hex (how PostgreSQL prints a
bytea, or a careless ``.hex()``), and a binary secret (a vault master key) as its raw bytes too.

The scan has to be cheap enough to run on every log record and every database page a test
changed, so it does not try every piece at every offset: it reads the data at every ``GRAM``-th
offset and only looks closer where that short sample is part of some piece. Every piece is at
least ``2 * GRAM - 1`` bytes long, so any occurrence holds one sampled offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The length of the pieces a secret is cut into: a leak of any of them is a leak of the secret.
WINDOW = 16
#: Shorter values are not harvested: too short to be a key (the hub's masking itself keeps the
#: first 8 characters of one), and short enough to turn up in ordinary text.
MIN_LENGTH = 12
#: The sampling stride and sample length; must stay <= (MIN_LENGTH + 1) // 2.
GRAM = 6
#: A piece made of fewer distinct bytes than this (``xxxxxxxxxxxxxxxx``) says nothing about a
#: secret and matches padding and filler, so it is not looked for.
MIN_DISTINCT = 5

#: Where a canary is looked for: responses, log records, process output, database contents.
RESPONSE, LOG, OUTPUT, DATABASE = "response", "log", "output", "database"
EVERYWHERE = frozenset({RESPONSE, LOG, OUTPUT, DATABASE})


@dataclass(frozen=True, eq=False)
class Canary:
    """One harvested secret: its value, where the suite handed it over, and where it must never appear."""

    value: str
    source: str
    scopes: frozenset[str] = EVERYWHERE
    raw: bytes | None = None  # the binary secret behind ``value`` (a vault key's 32 bytes)
    #: Also look for it in hex. Off for the API keys the hub issues (by the thousand): the hub keeps
    #: only their digests, and the index of their hex forms would double the ledger.
    hexed: bool = True

    def masked(self) -> str:
        """Enough to recognise the value in a report, never enough to use it."""
        return f"{self.value[:8]}…{self.value[-2:]} ({len(self.value)} chars)"

    def forms(self) -> list[tuple[bytes, bool]]:
        """Each form the secret could take in data, and whether it is a hex form."""
        text = self.value.encode()
        out = [(text, False)]
        if self.raw:
            out.append((self.raw, False))
        if self.hexed:
            out += [(form.hex().encode(), True) for form, _ in out]
        return out


def pieces(form: bytes, *, hex_form: bool = False) -> set[bytes]:
    """Every ``WINDOW``-long slice of ``form`` (two hex digits a byte in a hex form), or ``form`` if shorter."""
    width = WINDOW * 2 if hex_form else WINDOW
    if len(form) <= width:
        return {form}
    return {form[i : i + width] for i in range(len(form) - width + 1)}


@dataclass
class Needles:
    """An index of every piece of every canary, and the scan that finds them in data."""

    _pieces: dict[bytes, list[Canary]] = field(default_factory=dict)
    #: each sample, and the lengths of the pieces it can be part of, as a bit mask (bit n: length n)
    _grams: dict[bytes, int] = field(default_factory=dict)
    _public: list[bytes] = field(default_factory=list)
    _public_pieces: set[bytes] = field(default_factory=set)
    #: pieces that are a whole (shorter) secret rather than a window of one
    _whole: set[bytes] = field(default_factory=set)

    def add(self, canary: Canary) -> None:
        for form, hex_form in canary.forms():
            kept = [p for p in pieces(form, hex_form=hex_form) if self._worth_looking_for(p)]
            for piece in kept:
                owners = self._pieces.setdefault(piece, [])
                if canary not in owners:
                    owners.append(canary)
                if len(piece) not in (WINDOW, 2 * WINDOW):
                    self._whole.add(piece)
            mask = sum(1 << n for n in {len(p) for p in kept})
            for i in range(len(form) - GRAM + 1):
                gram = form[i : i + GRAM]
                self._grams[gram] = self._grams.get(gram, 0) | mask

    def _worth_looking_for(self, piece: bytes) -> bool:
        if len(piece) < MIN_LENGTH or len(set(piece)) < MIN_DISTINCT:
            return False
        if len(piece) in (WINDOW, 2 * WINDOW):
            return piece not in self._public_pieces
        return not any(piece in public for public in self._public)

    def add_public(self, value: str) -> None:
        """A value the hub may show (a publishable key): no piece of a secret that it contains is looked for.

        Stripe's publishable and secret keys of one account share their account part, and so do
        the suite's; such a shared piece in a response is the publishable key, not a leak.
        """
        text = value.encode()
        forms = [text, text.hex().encode()]
        self._public += forms
        public_pieces = pieces(forms[0]) | pieces(forms[1], hex_form=True)
        self._public_pieces |= public_pieces
        inside = [p for p in self._whole if any(p in f for f in forms)]
        for piece in [p for p in public_pieces if p in self._pieces] + inside:
            self._pieces.pop(piece, None)
            self._whole.discard(piece)

    def find(self, data: bytes) -> dict[Canary, int]:
        """Each canary with a piece in ``data``, and the offset of the first piece found.

        Secrets of one test often share a stretch (``sk_test_51Canary…``): where everything a canary
        matched lies within what another matched, and that other matched more, the leak is the
        other one's, and only that one is named.
        """
        if not self._pieces:
            return {}
        grams, table, size = self._grams, self._pieces, len(data)
        sampled = [i for i in range(0, size - GRAM + 1, GRAM) if data[i : i + GRAM] in grams]
        matched: dict[Canary, set[tuple[int, int]]] = {}
        for i in sampled:
            for length in _lengths(grams[data[i : i + GRAM]]):
                # a piece of this length starting at p holds the sample at i when p <= i <= p + length - GRAM
                for p in range(max(0, i - length + GRAM), min(i, size - length) + 1):
                    for canary in table.get(data[p : p + length], ()):
                        matched.setdefault(canary, set()).add((p, length))
        return {
            canary: min(spots)[0]
            for canary, spots in matched.items()
            if not any(other is not spots and _within(spots, other) for other in matched.values())
        }

    def __len__(self) -> int:
        return len(self._pieces)


def _lengths(mask: int) -> list[int]:
    return [n for n in range(mask.bit_length()) if mask >> n & 1]


def _within(spots: set[tuple[int, int]], other: set[tuple[int, int]]) -> bool:
    """Every span of ``spots`` lies inside a span of ``other``, and ``other`` reaches further."""
    return _covered(spots, other) and not _covered(other, spots)


def _covered(spots: set[tuple[int, int]], other: set[tuple[int, int]]) -> bool:
    return all(any(q <= p and p + n <= q + m for q, m in other) for p, n in spots)


def to_bytes(data: str | bytes) -> bytes:
    return data if isinstance(data, bytes) else data.encode("utf-8", "backslashreplace")


def scan(needles: Needles, data: str | bytes, scope: str) -> list[tuple[Canary, int]]:
    """The canaries of ``scope`` found in ``data``."""
    return [(c, at) for c, at in needles.find(to_bytes(data)).items() if scope in c.scopes]

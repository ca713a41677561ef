"""Finds provider plugins through the ``hub.providers`` entry-point group."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import msgspec

from providers.base.provider import Provider, ProviderOptions

ENTRY_POINT_GROUP = "hub.providers"


def _for_plugin(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Each plugin gets its own API base (``ProviderOptions.api_bases``), never another gateway's."""
    given = options.get("options")
    if isinstance(given, ProviderOptions) and given.api_bases:
        return {**options, "options": msgspec.structs.replace(given, api_base=given.api_bases.get(name))}
    return options


class ProviderNotFound(LookupError):
    """No plugin is registered under that name."""


class ProviderRegistry:
    """Provider instances by name, built once from the entry points (or given explicitly in tests)."""

    def __init__(self, providers: dict[str, Provider]) -> None:
        self._providers = dict(providers)

    @classmethod
    def discover(cls, **options: Any) -> ProviderRegistry:
        """Load every plugin of the entry-point group, passing ``options`` to each constructor."""
        found: dict[str, Provider] = {}
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            provider_cls = ep.load()
            if not (isinstance(provider_cls, type) and issubclass(provider_cls, Provider)):
                raise TypeError(f"entry point {ep.name!r} is not a Provider subclass")
            found[ep.name] = provider_cls(**_for_plugin(ep.name, options))
        return cls(found)

    def get(self, name: str) -> Provider:
        try:
            return self._providers[name]
        except KeyError:
            raise ProviderNotFound(name) from None

    def names(self) -> list[str]:
        return sorted(self._providers)

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()

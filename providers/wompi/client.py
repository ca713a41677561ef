"""Wompi's REST API (v1) for many tenants: one shared ``httpx.AsyncClient`` (one connection pool per
process), each tenant's key passed per call, never kept.

Sources (docs.wompi.co, Colombia, "Ambientes y llaves"): sandbox ``https://sandbox.wompi.co/v1``
for ``pub_test_``/``prv_test_`` keys, production ``https://production.wompi.co/v1`` for
``pub_prod_``/``prv_prod_`` keys; ``Authorization: Bearer <key>``. The public key creates card
tokens and transactions and reads one transaction; the private key lists transactions and voids.

Every call runs under one overall deadline (``deadline``: retries and their back-off included),
as Stripe calls do, and is reported once to ``observer`` as ``(operation, outcome, seconds)``.
Retries (at most ``max_network_retries``) are made only where they cannot act twice:
- a GET: after a network error, a 5xx or a 429;
- a POST: only when the request was never sent (no connection could be made). A POST that may
  have reached Wompi is never sent again. ``create_transaction`` recovers instead by reading the
  transaction back by its ``reference``, unique per merchant at Wompi: the hub uses its payment id,
  so a create retried later (even from another process) finds the first transaction, never makes
  a second one (Wompi refuses a used reference; the refusal is answered with what it already has).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from providers.base.errors import (
    CredentialsFormatError,
    InvalidRequest,
    InvalidState,
    ProviderError,
    ProviderUnavailable,
)
from providers.base.provider import ProviderOptions
from providers.wompi import wire
from providers.wompi.errors import ReferenceUsed, key_param, mask, translate
from providers.wompi.signing import integrity_signature

log = logging.getLogger("providers.wompi")

SANDBOX = "https://sandbox.wompi.co/v1"
PRODUCTION = "https://production.wompi.co/v1"
#: ``(operation, outcome, seconds)``, called once per API call (see ProviderOptions.call_observer).
CallObserver = Callable[[str, str, float], None]
#: The fixed segments of the paths the plugin calls; any other segment is an id (a transaction id, a key).
_PATH_WORDS = frozenset({"v1", "merchants", "pse", "financial_institutions", "tokens", "cards", "transactions", "void"})
PUBLIC, PRIVATE = "public_key", "private_key"


class DeadlineExceeded(ProviderUnavailable):
    """The call, retries included, ran past the overall deadline."""


def key_mode(key: str) -> str | None:
    """``test`` or ``prod`` from a Wompi key's or secret's prefix; ``None`` for anything else."""
    for mode in ("test", "prod"):
        if key.startswith((f"pub_{mode}_", f"prv_{mode}_", f"{mode}_events_", f"{mode}_integrity_")):
            return mode
    return None


def base_url_for(key: str, override: str | None = None, *, param: str | None = None) -> str:
    """The API base a call with ``key`` goes to: ``override`` when set, else by the key's prefix.
    ``param`` names the credentials field the key came from (by default, read from its prefix)."""
    if override:
        return override.rstrip("/")
    mode = key_mode(key) if key.startswith(("pub_", "prv_")) else None
    if mode is None:
        raise CredentialsFormatError(
            "A Wompi key starts with pub_test_, pub_prod_, prv_test_ or prv_prod_", param=param or key_param(key)
        )
    return SANDBOX if mode == "test" else PRODUCTION


def operation_name(method: str, path: str) -> str:
    """``GET /v1/transactions/{id}`` for ``…/v1/transactions/1234-1530291411-43417``: bounded, a safe metric label."""
    segments = [("{id}" if s and s not in _PATH_WORDS else s) for s in urlsplit(path).path.split("/")]
    return f"{method.upper()} {'/'.join(segments)}"


def _segment(value: str) -> str:
    """``value`` as one path segment: a ``/`` or ``?`` in it is escaped, and an empty or dot-only
    value (a step of the path, not a name) is refused, so it can never reach another endpoint."""
    if value.strip(".") == "":
        raise InvalidRequest("Not a Wompi id: empty or only dots", provider_code="invalid_id")
    return quote(value, safe="")


def _outcome(status: int | None) -> str:
    if status is None:
        return "unreachable"
    if status < 400:
        return "ok"
    return "client_error" if status < 500 else "server_error"


#: Never sent: no byte of the request can have reached Wompi, so even a POST may be tried again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class WompiClient:
    """The plugin's one Wompi client. Build one per process (``from_options``) and ``aclose`` it at shutdown."""

    def __init__(
        self,
        *,
        api_base: str | None = None,
        timeout: float = 20.0,
        deadline: float = 25.0,
        max_network_retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: CallObserver | None = None,
        max_connections: int = 100,
        backoff: float = 0.25,
        poll_attempts: int = 5,
        poll_interval: float = 0.1,
    ) -> None:
        self.api_base = api_base.rstrip("/") if api_base else None
        #: ``wait_for_async_url``'s bounds: how many reads, and the first pause (doubled after each read).
        self.poll_attempts = poll_attempts
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.max_network_retries = max(0, max_network_retries)
        self.backoff = backoff
        self._observer = observer
        timeout = min(timeout, deadline)
        # A short connect timeout: an unreachable Wompi should fail fast, not hold a worker.
        timeouts = httpx.Timeout(timeout, connect=min(timeout, 5.0))
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=20)
        self.http = httpx.AsyncClient(
            transport=transport, limits=limits, timeout=timeouts, headers={"Accept": "application/json"}
        )

    @classmethod
    def from_options(cls, options: ProviderOptions, **overrides: Any) -> WompiClient:
        """The client for the hub's process-wide ``ProviderOptions`` (``api_base``: ``HUB_WOMPI_API_BASE``)."""
        kwargs: dict[str, Any] = {
            "api_base": options.api_base,
            "timeout": options.timeout_seconds,
            "deadline": options.deadline_seconds,
            "max_network_retries": options.max_network_retries,
            "transport": options.http_transport,
            "observer": options.call_observer,
        }
        kwargs.update(overrides)
        return cls(**kwargs)

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- the calls ----------------------------------------------------------------------------

    async def merchant(self, public_key: str) -> wire.Merchant:
        """``GET /merchants/{public_key}`` (no auth): the merchant and its presigned acceptance tokens.
        An unknown public key is ``InvalidCredentials`` on ``public_key``."""
        answer = await self._call("GET", f"/merchants/{_segment(public_key)}", key=public_key, param=PUBLIC, auth=False)
        return wire.decode(answer, wire.MerchantAnswer, "merchant").data

    async def pse_banks(self, public_key: str) -> list[wire.FinancialInstitution]:
        """``GET /pse/financial_institutions``: the banks a PSE payment may name."""
        answer = await self._call("GET", "/pse/financial_institutions", key=public_key, param=PUBLIC)
        return wire.decode(answer, wire.FinancialInstitutions, "list of PSE banks").data

    async def create_card_token(self, public_key: str, card: wire.CardTokenCreate) -> wire.CardToken:
        """``POST /tokens/cards``. In a storefront Wompi's widget or JS does this in the buyer's browser."""
        answer = await self._call("POST", "/tokens/cards", key=public_key, param=PUBLIC, body=card)
        return wire.decode(answer, wire.CardTokenAnswer, "card token").data

    async def transaction(self, key: str, transaction_id: str) -> wire.Transaction:
        """``GET /transactions/{id}`` with either key."""
        answer = await self._call("GET", f"/transactions/{_segment(transaction_id)}", key=key, param=key_param(key))
        return wire.decode(answer, wire.TransactionAnswer, "transaction").data

    async def transactions_by_reference(self, private_key: str, reference: str) -> list[wire.Transaction]:
        """``GET /transactions?reference=`` (private key): the merchant's transactions with ``reference``."""
        answer = await self._call(
            "GET", "/transactions", key=private_key, param=PRIVATE, params={"reference": reference}
        )
        return wire.decode(answer, wire.TransactionList, "list of transactions").data

    async def check_private_key(self, private_key: str) -> None:
        """An authenticated read that only the private key may make; ``InvalidCredentials`` on
        ``private_key`` when Wompi refuses it."""
        await self.transactions_by_reference(private_key, "hub-credentials-check")

    async def create_transaction(
        self,
        *,
        private_key: str,
        integrity_secret: str,
        reference: str,
        amount_in_cents: int,
        customer_email: str,
        acceptance_token: str,
        payment_method: wire.PaymentMethodCreate,
        currency: str = "COP",
        redirect_url: str | None = None,
        accept_personal_auth: str | None = None,
    ) -> wire.Transaction:
        """``POST /transactions``, signed with the integrity secret; the transaction (``PENDING``).

        ``reference`` must be the hub's payment id: when the answer is lost (a timeout, a cut
        connection, a 5xx) or Wompi says the reference is used already (an earlier try got
        through), the transaction is read back by reference and returned if it is this payment's
        (same amount and currency). Nothing found after a lost answer: ``ProviderUnavailable``
        (the outcome is unknown; a later try with the same reference is safe).
        """
        body = wire.TransactionCreate(
            acceptance_token=acceptance_token,
            amount_in_cents=amount_in_cents,
            currency=currency,
            customer_email=customer_email,
            reference=reference,
            signature=integrity_signature(reference, amount_in_cents, currency, integrity_secret),
            payment_method=payment_method,
            redirect_url=redirect_url,
            accept_personal_auth=accept_personal_auth,
        )
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.deadline):
                try:
                    answer = await self._send("POST", "/transactions", key=private_key, param=PRIVATE, body=body)
                    return wire.decode(answer, wire.TransactionAnswer, "transaction").data
                except ReferenceUsed:
                    found = await self._find(private_key, reference, amount_in_cents, currency)
                    if found is None:
                        raise
                    log.info("wompi: reference %s was used by an earlier try; its transaction is kept", reference)
                    return found
                except ProviderUnavailable:
                    # Whether Wompi acted is unknown: look for it by reference (a GET, retried as GETs are).
                    found = await self._find(private_key, reference, amount_in_cents, currency)
                    if found is None:
                        raise
                    log.info("wompi: the answer to a create was lost; its transaction was found by reference")
                    return found
        except TimeoutError:
            raise self._deadline() from None
        finally:
            log.debug("wompi create_transaction took %.0f ms", (time.perf_counter() - started) * 1000)

    async def void(self, private_key: str, transaction_id: str) -> wire.Transaction:
        """``POST /transactions/{id}/void`` (private key: an APPROVED card transaction, whole amount),
        then the transaction read back (its status, ``VOIDED``, is what counts, not the void's answer).

        A void is whole, so making it twice cannot return money twice: when Wompi refuses it or its
        answer is lost, the transaction is read back, and ``VOIDED`` is the answer (an earlier try got
        through). Otherwise a refusal is ``InvalidState`` and a lost answer ``ProviderUnavailable``.
        """
        try:
            async with asyncio.timeout(self.deadline):
                try:
                    await self._send(
                        "POST", f"/transactions/{_segment(transaction_id)}/void", key=private_key, param=PRIVATE
                    )
                except (InvalidState, ProviderUnavailable):
                    read = await self._read_transaction(private_key, transaction_id)
                    if read.status != "VOIDED":
                        raise
                    return read
                return await self._read_transaction(private_key, transaction_id)
        except TimeoutError:
            raise self._deadline() from None

    async def wait_for_async_url(
        self, key: str, transaction: wire.Transaction, *, attempts: int | None = None, interval: float | None = None
    ) -> wire.Transaction:
        """A PSE or Bancolombia transaction read again until its ``async_payment_url`` appears, it
        settles, or ``attempts`` reads were made (by default the client's ``poll_attempts``), the
        pause doubling from ``interval`` (``poll_interval``) after each read; the whole wait runs
        under the deadline (bounded: the buyer waits). The last read is returned."""
        attempts = self.poll_attempts if attempts is None else attempts
        interval = self.poll_interval if interval is None else interval
        current = transaction
        try:
            async with asyncio.timeout(self.deadline):
                for attempt in range(max(0, attempts)):
                    if current.async_payment_url or current.status != "PENDING":
                        return current
                    await asyncio.sleep(interval * 2**attempt)
                    current = await self._read_transaction(key, transaction.id)
        except TimeoutError:
            raise self._deadline() from None
        return current

    # -- the machinery ------------------------------------------------------------------------

    async def _find(self, private_key: str, reference: str, amount: int, currency: str) -> wire.Transaction | None:
        for found in await self._get_list(private_key, reference):
            if found.reference == reference and found.amount_in_cents == amount and found.currency == currency:
                return found
        return None

    async def _get_list(self, private_key: str, reference: str) -> list[wire.Transaction]:
        answer = await self._send(
            "GET", "/transactions", key=private_key, param=PRIVATE, params={"reference": reference}
        )
        return wire.decode(answer, wire.TransactionList, "list of transactions").data

    async def _read_transaction(self, key: str, transaction_id: str) -> wire.Transaction:
        answer = await self._send("GET", f"/transactions/{_segment(transaction_id)}", key=key, param=key_param(key))
        return wire.decode(answer, wire.TransactionAnswer, "transaction").data

    def _deadline(self) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"Wompi did not answer within the {self.deadline:g} s deadline", provider_code="deadline"
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        key: str,
        param: str,
        body: Any = None,
        params: dict[str, str] | None = None,
        auth: bool = True,
    ) -> bytes:
        """One call under the overall deadline."""
        try:
            async with asyncio.timeout(self.deadline):
                return await self._send(method, path, key=key, param=param, body=body, params=params, auth=auth)
        except TimeoutError:
            raise self._deadline() from None

    async def _send(
        self,
        method: str,
        path: str,
        *,
        key: str,
        param: str,
        body: Any = None,
        params: dict[str, str] | None = None,
        auth: bool = True,
    ) -> bytes:
        """The answer's body to one request (with its safe retries); the typed error otherwise.
        Called inside a deadline. ``param`` names the credentials field ``key`` came from."""
        url = base_url_for(key, self.api_base, param=param) + path
        operation = operation_name(method, urlsplit(url).path)
        headers = {"Authorization": f"Bearer {key}"} if auth else {}
        content = wire.encode(body) if body is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        status: int | None = None
        attempt = 0
        try:
            while True:
                try:
                    answer = await self.http.request(method, url, headers=headers, content=content, params=params)
                except _NOT_SENT as exc:
                    if attempt < self.max_network_retries:
                        attempt += 1
                        await self._pause(attempt)
                        continue
                    raise ProviderUnavailable("Wompi could not be reached", provider_code=type(exc).__name__) from None
                except httpx.TransportError as exc:
                    # The request may have reached Wompi: only a read is tried again.
                    if method == "GET" and attempt < self.max_network_retries:
                        attempt += 1
                        await self._pause(attempt)
                        continue
                    raise ProviderUnavailable(
                        "Wompi's answer did not arrive", provider_code=type(exc).__name__
                    ) from None
                status = answer.status_code
                if status < 400:
                    return answer.content
                if method == "GET" and (status >= 500 or status == 429) and attempt < self.max_network_retries:
                    attempt += 1
                    await self._pause(attempt, answer.headers.get("retry-after"))
                    continue
                raise translate(status, answer.content, param=param, operation=operation)
        except ProviderError:
            raise
        except httpx.HTTPError as exc:  # anything else httpx raises (an invalid URL...)
            raise ProviderUnavailable(mask(f"Wompi could not be called: {type(exc).__name__}")) from None
        finally:
            seconds = time.perf_counter() - started
            log.debug(
                "wompi %s -> %s in %.0f ms (%d retries)", operation, status or "no answer", seconds * 1000, attempt
            )
            if self._observer is not None:
                self._observer(operation, _outcome(status), seconds)

    async def _pause(self, attempt: int, retry_after: str | None = None) -> None:
        delay = min(self.backoff * (2 ** (attempt - 1)), 2.0) * (0.5 + random.random() / 2)
        if retry_after is not None and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), 2.0))
        await asyncio.sleep(delay)

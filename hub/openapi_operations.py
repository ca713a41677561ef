"""What each operation of the OpenAPI document says about itself: a summary, one sentence, and the
error codes (problem+json ``code``) it can answer beyond those its kind of route always can.

``hub.openapi`` adds the codes every route of a kind shares (a token: ``unauthorized``,
``forbidden``, ``rate_limited``; a body: ``invalid_json``, ``validation_error``…; an object in
the path: ``not_found``; an ``Idempotency-Key``: ``idempotency_conflict``,
``idempotency_in_progress``; the database: ``database_unavailable``), so an entry names only its
own. A route served without an entry here fails ``tests/integration/test_openapi_operations.py``.
``docs/errors.md`` says when each code happens.
"""

from __future__ import annotations

from typing import NamedTuple

#: Every code the hub answers, with its status.
STATUS_OF = {
    "invalid_json": 400,
    "provider_error": 400,
    "signature_invalid": 400,
    "unauthorized": 401,
    "card_declined": 402,
    "authentication_required": 402,
    "forbidden": 403,
    "tenant_suspended": 403,
    "not_found": 404,
    "credentials_missing": 404,
    "subscription_missing": 404,
    "idempotency_conflict": 409,
    "idempotency_in_progress": 409,
    "invalid_state": 409,
    "last_admin_key": 409,
    "transfers_outstanding": 409,
    "too_many_endpoints": 409,
    "subscription_exists": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "validation_error": 422,
    "amount_too_small": 422,
    "amount_too_large": 422,
    "unsupported_currency": 422,
    "mode_mismatch": 422,
    "invalid_credentials": 422,
    "account_not_ready": 422,
    "rate_limited": 429,
    "not_supported": 422,
    "database_unavailable": 503,
    "provider_unavailable": 503,
    "vault_unavailable": 503,
    "billing_disabled": 503,
}

#: What a call to the tenant's provider adds: its refusal, its absence, the tenant's missing or
#: undecryptable credentials.
PROVIDER = ("provider_error", "provider_unavailable", "credentials_missing", "vault_unavailable")
MONEY = ("amount_too_small", "amount_too_large", "unsupported_currency")
#: The recurring resources also answer a provider without the feature.
RECURRING = (*PROVIDER, "not_supported")
BILLING = ("billing_disabled", "provider_error", "provider_unavailable")


class Operation(NamedTuple):
    summary: str
    description: str
    codes: tuple[str, ...] = ()


OPERATIONS: dict[tuple[str, str], Operation] = {
    # Health and metrics
    ("GET", "/health"): Operation("Liveness probe", "Answers 200 while the process serves requests; touches nothing."),
    ("GET", "/health/ready"): Operation(
        "Readiness probe",
        "Checks the database, the migrations and the vault; 503 with the same body names the failing check.",
    ),
    ("GET", "/metrics"): Operation("Prometheus metrics", "The hub's metrics in Prometheus text format."),
    # Tenants (platform operator)
    ("POST", "/v1/tenants"): Operation(
        "Create a tenant",
        "Creates a tenant and returns its webhook URL and its two API keys, shown this once.",
    ),
    ("GET", "/v1/tenants"): Operation("List tenants", "Lists the tenants, newest first, a page at a time."),
    ("GET", "/v1/tenants/{tenant_id}"): Operation("Get a tenant", "Returns one tenant, without its keys."),
    ("POST", "/v1/tenants/{tenant_id}/suspend"): Operation(
        "Suspend a tenant",
        "Suspends a tenant: its API keys answer 403 `tenant_suspended`; its webhooks are still received.",
    ),
    ("POST", "/v1/tenants/{tenant_id}/activate"): Operation(
        "Reactivate a tenant", "Lifts a suspension so the tenant's API keys work again."
    ),
    ("POST", "/v1/tenants/{tenant_id}/api-keys"): Operation(
        "Issue a tenant API key (recovery)",
        "Issues a new admin or storefront key for a tenant that lost its own, shown this once.",
    ),
    # API keys (tenant admin)
    ("POST", "/v1/api-keys"): Operation(
        "Create an API key", "Creates an admin or storefront API key for the caller's tenant, shown this once."
    ),
    ("GET", "/v1/api-keys"): Operation(
        "List API keys", "Lists the tenant's API keys by prefix, revoked ones included, never a key itself."
    ),
    ("DELETE", "/v1/api-keys/{key_id}"): Operation(
        "Revoke an API key",
        "Revokes one of the tenant's API keys; the last active admin key cannot be revoked.",
        ("last_admin_key",),
    ),
    # Provider credentials (tenant admin)
    ("PUT", "/v1/providers/{provider}/credentials"): Operation(
        "Register provider credentials",
        "Takes the fields the provider's plugin declares (Stripe: `publishable_key`, `secret_key`, "
        "`webhook_secret`; Wompi: `public_key`, `private_key`, `events_secret`, `integrity_secret`), checks "
        "them against the provider, then seals every secret in the vault and answers the masked view; "
        "without a webhook secret a provider with an endpoint API gets its webhook endpoint made by the hub.",
        ("mode_mismatch", "invalid_credentials", "provider_error", "provider_unavailable", "vault_unavailable"),
    ),
    ("GET", "/v1/providers/{provider}/credentials"): Operation(
        "Get provider credentials (masked)",
        "The tenant's provider credentials, masked: mode, the public key, `{key}_hint`, `{secret}_set` for "
        "every other secret, webhook URL, when they were checked.",
        ("credentials_missing",),
    ),
    ("DELETE", "/v1/providers/{provider}/credentials"): Operation(
        "Remove provider credentials", "Deletes the tenant's credentials for the provider."
    ),
    ("DELETE", "/v1/providers/{provider}/credentials/previous-webhook-secret"): Operation(
        "End the webhook secret roll-over",
        "Stops the previous webhook secret verifying now instead of at the end of its 24 hours.",
        ("credentials_missing",),
    ),
    ("POST", "/v1/providers/{provider}/health-check"): Operation(
        "Check the connection",
        "Checks the tenant's key at the provider and its webhook endpoint there, and says what is wrong "
        "with advice ready to show to the shop owner.",
        ("credentials_missing", "vault_unavailable"),
    ),
    ("POST", "/v1/providers/{provider}/webhook/repair"): Operation(
        "Repair the webhook endpoint",
        "Enables, re-points or completes the hub's webhook endpoint at the provider (creating one only when "
        "none exists), then answers the health check.",
        PROVIDER,
    ),
    # Payments
    ("POST", "/v1/payments"): Operation(
        "Create a payment",
        "Creates a payment on the tenant's own provider account (Stripe: a PaymentIntent, with what Stripe.js "
        "needs: client_secret, publishable_key; Wompi: a signed transaction, with `next_action` for a bank "
        "redirect); amounts and the provider's declared capabilities are checked before it is called.",
        (*PROVIDER, *MONEY, "card_declined", "authentication_required", "account_not_ready", "not_supported"),
    ),
    ("GET", "/v1/providers/{provider}/acceptance"): Operation(
        "The provider's terms for buyers",
        "The terms the buyer must be shown (`permalink`) and accept before paying, and the token a payment "
        "then carries as `acceptance_token` (Wompi). 422 `not_supported` for a provider without such terms.",
        ("credentials_missing", "provider_error", "provider_unavailable", "not_supported", "vault_unavailable"),
    ),
    ("GET", "/v1/providers/{provider}/pse-banks"): Operation(
        "Banks for PSE",
        "The banks a buyer may pick for a PSE payment (`financial_institution_code`), read from the provider.",
        ("credentials_missing", "provider_error", "provider_unavailable", "not_supported", "vault_unavailable"),
    ),
    ("GET", "/v1/payments"): Operation(
        "List payments", "Lists the tenant's payments, newest first, filtered by status, a page at a time."
    ),
    ("GET", "/v1/payments/{payment_id}"): Operation("Get a payment", "Returns one of the tenant's payments."),
    ("POST", "/v1/payments/{payment_id}/capture"): Operation(
        "Capture a payment",
        "Captures an authorized payment, all of it or part (the rest is released).",
        (*PROVIDER, "invalid_state", "amount_too_small", "amount_too_large"),
    ),
    ("POST", "/v1/payments/{payment_id}/cancel"): Operation(
        "Cancel a payment", "Cancels a payment that has not been captured.", (*PROVIDER, "invalid_state")
    ),
    ("POST", "/v1/payments/{payment_id}/sync"): Operation(
        "Re-read a payment from the provider",
        "Re-reads the payment and its refunds from the provider and applies what changed.",
        (*PROVIDER, "invalid_state"),
    ),
    ("POST", "/v1/payments/{payment_id}/refunds"): Operation(
        "Refund a payment",
        "Refunds all or part of what was captured and not already refunded.",
        (*PROVIDER, "invalid_state", "amount_too_small", "amount_too_large", "transfers_outstanding"),
    ),
    ("GET", "/v1/payments/{payment_id}/refunds"): Operation(
        "List a payment's refunds", "Lists the refunds of one payment."
    ),
    ("POST", "/v1/payments/{payment_id}/transfers"): Operation(
        "Release to a seller",
        "Transfers part of a captured payment to a connected account, from the payment's charge.",
        (*PROVIDER, "invalid_state", "account_not_ready", "amount_too_small", "amount_too_large"),
    ),
    ("GET", "/v1/payments/{payment_id}/transfers"): Operation(
        "List a payment's transfers", "Lists the transfers of one payment to connected accounts, newest first."
    ),
    ("POST", "/v1/transfers/{transfer_id}/reversals"): Operation(
        "Reverse a transfer",
        "Takes back all or part of a transfer from its connected account.",
        (*PROVIDER, "invalid_state", "amount_too_small", "amount_too_large"),
    ),
    ("POST", "/v1/checkout/sessions"): Operation(
        "Create a hosted checkout page",
        "Creates a provider-hosted checkout session for the given line items and returns its URL.",
        (*PROVIDER, *MONEY),
    ),
    # Customers and saved cards
    ("POST", "/v1/customers"): Operation(
        "Create a customer", "Creates a customer at the tenant's provider and in the hub.", RECURRING
    ),
    ("GET", "/v1/customers"): Operation(
        "List customers", "Lists the tenant's customers, newest first, optionally by email, a page at a time."
    ),
    ("GET", "/v1/customers/{customer_id}"): Operation("Get a customer", "Returns one of the tenant's customers."),
    ("PATCH", "/v1/customers/{customer_id}"): Operation(
        "Update a customer", "Changes a customer's email, name or metadata, at the provider too.", RECURRING
    ),
    ("DELETE", "/v1/customers/{customer_id}"): Operation(
        "Delete a customer", "Deletes a customer at the provider and in the hub.", RECURRING
    ),
    ("GET", "/v1/customers/{customer_id}/payment-methods"): Operation(
        "List a customer's saved cards",
        "Lists the payment methods saved for a customer at the provider (brand, last 4 digits, expiry).",
        RECURRING,
    ),
    # Marketplace: connected accounts (the tenant's sellers)
    ("POST", "/v1/connected-accounts"): Operation(
        "Create a connected account",
        "Creates a seller's connected account (Express unless told otherwise) at the tenant's provider and in the hub.",
        RECURRING,
    ),
    ("GET", "/v1/connected-accounts"): Operation(
        "List connected accounts", "Lists the tenant's connected accounts, newest first, optionally by status."
    ),
    ("GET", "/v1/connected-accounts/{account_id}"): Operation(
        "Get a connected account", "Returns one of the tenant's connected accounts, with what the provider needs."
    ),
    ("POST", "/v1/connected-accounts/{account_id}/sync"): Operation(
        "Sync a connected account",
        "Reads the account again from the provider (finishing a creation whose answer was lost) and returns it.",
        RECURRING,
    ),
    ("POST", "/v1/connected-accounts/{account_id}/links"): Operation(
        "Create an onboarding link",
        "Makes a single-use link where the seller gives the provider its details; an update link the provider "
        "refuses falls back to an onboarding link.",
        (*RECURRING, "invalid_state"),
    ),
    ("POST", "/v1/setup-intents"): Operation(
        "Save a card for later",
        "Creates a SetupIntent for a customer and returns what Stripe.js needs to save a card off-session.",
        RECURRING,
    ),
    # Catalogue, subscriptions, invoices, payment links
    ("POST", "/v1/products"): Operation("Create a product", "Creates a product at the provider.", RECURRING),
    ("GET", "/v1/products"): Operation("List products", "Lists the tenant's products, a page at a time."),
    ("POST", "/v1/prices"): Operation(
        "Create a price",
        "Creates a one-off or recurring price of a product at the provider.",
        (*RECURRING, *MONEY),
    ),
    ("GET", "/v1/prices"): Operation("List prices", "Lists the tenant's prices, a page at a time."),
    ("POST", "/v1/subscriptions"): Operation(
        "Create a subscription",
        "Subscribes a customer to recurring prices, charged to a card or invoiced.",
        (*RECURRING, "card_declined", "authentication_required"),
    ),
    ("GET", "/v1/subscriptions"): Operation(
        "List subscriptions", "Lists the tenant's subscriptions, by customer or status, a page at a time."
    ),
    ("GET", "/v1/subscriptions/{subscription_id}"): Operation(
        "Get a subscription", "Returns one of the tenant's subscriptions."
    ),
    ("POST", "/v1/subscriptions/{subscription_id}/cancel"): Operation(
        "Cancel a subscription",
        "Cancels a subscription now or at the end of its paid period.",
        (*RECURRING, "invalid_state"),
    ),
    ("POST", "/v1/subscriptions/{subscription_id}/sync"): Operation(
        "Re-read a subscription from the provider", "Re-reads the subscription from the provider.", RECURRING
    ),
    ("POST", "/v1/invoices"): Operation(
        "Create an invoice",
        "Creates an invoice with its lines for a customer, sent at once when asked.",
        (*RECURRING, *MONEY),
    ),
    ("GET", "/v1/invoices"): Operation(
        "List invoices", "Lists the tenant's invoices, by customer or status, a page at a time."
    ),
    ("GET", "/v1/invoices/{invoice_id}"): Operation("Get an invoice", "Returns one of the tenant's invoices."),
    ("POST", "/v1/invoices/{invoice_id}/send"): Operation(
        "Send an invoice", "Finalizes a draft invoice and sends it to the customer.", (*RECURRING, "invalid_state")
    ),
    ("POST", "/v1/invoices/{invoice_id}/void"): Operation(
        "Void an invoice", "Voids an open invoice so it can no longer be paid.", (*RECURRING, "invalid_state")
    ),
    ("POST", "/v1/payment-links"): Operation(
        "Create a payment link", "Creates a shareable provider-hosted payment page for prices.", RECURRING
    ),
    ("GET", "/v1/payment-links"): Operation(
        "List payment links", "Lists the tenant's payment links, active or not, a page at a time."
    ),
    ("POST", "/v1/payment-links/{link_id}/deactivate"): Operation(
        "Deactivate a payment link", "Turns a payment link off so it takes no more payments.", RECURRING
    ),
    # Webhooks in, events
    ("POST", "/v1/webhooks/{provider}/{tenant_id}"): Operation(
        "Receive a tenant's provider webhook",
        "Verifies a provider event with the tenant's webhook secret, stores it once and acknowledges it; "
        "it is applied just after (no token: the signature is the authentication).",
        ("signature_invalid",),
    ),
    ("GET", "/v1/events"): Operation(
        "List received webhook events",
        "Lists the provider events the tenant's webhook received, newest first, with what each did.",
    ),
    # Notifications out
    ("POST", "/v1/notification-endpoints"): Operation(
        "Register a notification endpoint",
        "Registers a URL of the tenant's own application to receive signed payment notifications; "
        "answers its signing secret this once.",
        ("too_many_endpoints", "vault_unavailable"),
    ),
    ("GET", "/v1/notification-endpoints"): Operation(
        "List notification endpoints", "Lists the tenant's notification endpoints, never a secret."
    ),
    ("GET", "/v1/notification-endpoints/{endpoint_id}"): Operation(
        "Get a notification endpoint", "Returns one notification endpoint, never its secret."
    ),
    ("DELETE", "/v1/notification-endpoints/{endpoint_id}"): Operation(
        "Remove a notification endpoint", "Deletes a notification endpoint; nothing more is sent to it."
    ),
    ("POST", "/v1/notification-endpoints/{endpoint_id}/rotate-secret"): Operation(
        "Rotate an endpoint's signing secret",
        "Issues a new signing secret, shown this once; the old one also signs for 24 hours.",
        ("vault_unavailable",),
    ),
    ("POST", "/v1/notification-endpoints/{endpoint_id}/test"): Operation(
        "Send a test notification", "Queues a `ping` message to the endpoint.", ("vault_unavailable",)
    ),
    ("GET", "/v1/notification-endpoints/{endpoint_id}/deliveries"): Operation(
        "List an endpoint's deliveries",
        "Lists the messages sent or due to one endpoint, with attempts and the last outcome.",
    ),
    ("POST", "/v1/notification-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry"): Operation(
        "Retry a delivery", "Makes a delivery due again now, whatever its status."
    ),
    # Platform billing (the platform's own Stripe account)
    ("GET", "/v1/platform/billing/plans"): Operation(
        "List billing plans", "Lists the plans the platform sells to its tenants.", ("billing_disabled",)
    ),
    ("POST", "/v1/tenants/{tenant_id}/subscription"): Operation(
        "Subscribe a tenant to a plan",
        "Subscribes a tenant to one of the platform's plans on the platform's own Stripe account.",
        (*BILLING, "subscription_exists"),
    ),
    ("GET", "/v1/tenants/{tenant_id}/subscription"): Operation(
        "Get a tenant's plan subscription",
        "Returns the tenant's subscription to the platform's plans.",
        ("billing_disabled", "subscription_missing"),
    ),
    ("POST", "/v1/platform/billing/webhook"): Operation(
        "Receive the platform's billing webhook",
        "Verifies an event of the platform's own Stripe account with the billing webhook secret and applies it "
        "(no token: the signature is the authentication).",
        ("signature_invalid", "billing_disabled"),
    ),
}

"""status checks: every status, refund reason and interval column holds only a defined value

A CHECK constraint on each column whose values providers/base/statuses.py defines, so no
writer (the hub, a script, a hand-made fix) can store a value the hub does not know. The
values are written out here, as they were when this revision was made: a later revision that
adds a value replaces the constraint. SQLite cannot add a constraint to a table: batch mode
copies each table with it. Existing rows must already hold defined values (the hub never wrote
others); a row that does not makes the upgrade fail rather than be changed silently.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

PAYMENT = (
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "processing",
    "requires_capture",
    "succeeded",
    "canceled",
    "failed",
    "partially_refunded",
    "refunded",
)
DISPUTE = ("needs_response", "under_review", "won", "lost", "closed")
REFUND = ("pending", "requires_action", "succeeded", "failed", "canceled")
REFUND_REASON = ("duplicate", "fraudulent", "requested_by_customer", "expired_uncaptured_charge")
SUBSCRIPTION = ("incomplete", "incomplete_expired", "trialing", "active", "past_due", "unpaid", "canceled", "paused")
INVOICE = ("draft", "open", "paid", "void", "uncollectible")
SETUP = ("requires_payment_method", "requires_confirmation", "requires_action", "processing", "succeeded", "canceled")
INTERVAL = ("day", "week", "month", "year")

#: table -> [(column, values)]; each constraint is named ck_<table>_<column>.
CHECKS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "payments": [("status", PAYMENT), ("dispute_status", DISPUTE)],
    "refunds": [("status", REFUND), ("reason", REFUND_REASON)],
    "subscriptions": [("status", SUBSCRIPTION)],
    "invoices": [("status", INVOICE)],
    "setup_intents": [("status", SETUP)],
    "prices": [("interval", INTERVAL)],
    "billing_subscriptions": [("status", SUBSCRIPTION)],
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values in checks:
                batch_op.create_check_constraint(op.f(f"ck_{table}_{column}"), _in(column, values))


def downgrade() -> None:
    for table, checks in reversed(CHECKS.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, _ in checks:
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")

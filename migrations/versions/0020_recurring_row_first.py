"""recurring creations write their row before the provider is called: its provider id is null
until the provider's answer (or its event) arrives

Products, prices, subscriptions, invoices, payment links and setup intents, like payments and
customers already: the row is written with the Idempotency-Key's claim, the provider is asked
under a provider idempotency key derived from the row's id, and the answer fills the row. A
provider id still null is the creation in flight, or left for the retry with the same key after
an outcome-unknown failure; reads and lists do not show such a row.

Downgrading deletes the rows still without a provider id (the columns are required again).

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

COLUMNS = (
    ("products", "provider_product_id"),
    ("prices", "provider_price_id"),
    ("subscriptions", "provider_subscription_id"),
    ("invoices", "provider_invoice_id"),
    ("payment_links", "provider_payment_link_id"),
    ("setup_intents", "provider_setup_intent_id"),
)


def upgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=255), nullable=True)


def downgrade() -> None:
    for table, column in reversed(COLUMNS):
        op.execute(sa.text(f"DELETE FROM {table} WHERE {column} IS NULL"))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=255), nullable=False)

"""webhooks: no schema change (the webhook_events table and its unique key came with 0001)

Kept as the webhooks module's own place in the chain, so a later change to the event store
has a revision that is clearly its own.

Revision ID: 0003
Revises: 0002
"""

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

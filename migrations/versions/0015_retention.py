"""retention: the indexes that make each pruning query cheap

- webhook_events (outcome, received_at): applied/ignored or failed events older than their window;
- billing_events (outcome, received_at): handled billing events older than theirs;
- notification_deliveries (status, updated_at): delivered or failed deliveries older than theirs;
- notification_messages (created_at): old messages, each then checked for a delivery left
  (notification_deliveries.message_id is indexed already);
- console_sessions (expires_at): expired sessions.

idempotency_records.created_at is indexed already (0010). Building an index holds off writes to
its table while it is built: on a large PostgreSQL table, build it beforehand with CREATE INDEX
CONCURRENTLY under the same name, and this revision skips it.

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_webhook_events_outcome_received_at", "webhook_events", ["outcome", "received_at"]),
    ("ix_billing_events_outcome_received_at", "billing_events", ["outcome", "received_at"]),
    ("ix_notification_deliveries_status_updated_at", "notification_deliveries", ["status", "updated_at"]),
    ("ix_notification_messages_created_at", "notification_messages", ["created_at"]),
    ("ix_console_sessions_expires_at", "console_sessions", ["expires_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, if_not_exists=True)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)

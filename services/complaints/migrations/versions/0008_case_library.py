"""the case library (complaint_cases): closed complaints written up, searchable in any script

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaint_cases",
        sa.Column(
            "complaint_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("complaints.complaint_id", name="complaint_cases_complaint_id_fkey"),
            primary_key=True,
        ),
        sa.Column("problem", sa.Text, nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("solution", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("lesson", sa.Text, nullable=False),
        sa.Column("written_by", sa.Text, nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("root_cause", sa.Text),
        sa.Column("service_step", sa.Text),
        sa.Column("room_id", sa.Text),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("search_text", sa.Text, nullable=False),
    )
    op.create_index("complaint_cases_closed", "complaint_cases", ["closed_at"])


def downgrade() -> None:
    op.drop_index("complaint_cases_closed", "complaint_cases")
    op.drop_table("complaint_cases")

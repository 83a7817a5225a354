"""the SLA log (complaint_clock, append-only), the staff directory, the reply route, satisfaction, withdrawal

Revision ID: 0004
Revises: 0003

Existing complaints get their SLA log rebuilt from their history (registration starts both clocks, an
acknowledgement or a resolution meets its target, a breach is recorded at its due time, a reopening
starts the resolution clock anew), their conversation and language from the registration entry, and
their complaint channel as the channel they hear back on (the address is not known for them). A target
already breached and still unmet starts escalating. (Their warnings are not scheduled: a running
clock's warning is recorded, at its instant, when its breach item or its next change comes.)
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATUSES_BEFORE = (
    "'registered', 'acknowledged', 'investigating', 'solution_proposed', 'in_progress', 'resolved', 'closed'"
)
STATUSES_AFTER = STATUSES_BEFORE + ", 'withdrawn'"


def upgrade() -> None:
    for column in (
        sa.Column("conversation_id", sa.Text),
        sa.Column("reply_channel", sa.Text),
        sa.Column("reply_address", sa.Text),
        sa.Column("language", sa.Text),
        sa.Column("first_contact", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
        sa.Column("satisfaction_score", sa.SmallInteger),
        sa.Column("satisfied_at", sa.DateTime(timezone=True)),
        sa.Column("follow_ups", sa.SmallInteger, nullable=False, server_default="0"),
    ):
        op.add_column("complaints", column)
    op.drop_constraint("complaints_status_known", "complaints", type_="check")
    op.create_check_constraint("complaints_status_known", "complaints", f"status IN ({STATUSES_AFTER})")
    op.create_index("complaints_conversation", "complaints", ["conversation_id"])
    op.create_index("complaints_agent", "complaints", ["agent_id"])
    op.execute(
        """
        UPDATE complaints c
           SET conversation_id = h.data->>'conversation_id',
               language = h.data->>'language',
               reply_channel = c.channel
          FROM complaint_history h
         WHERE h.complaint_id = c.complaint_id AND h.action = 'complaint.registered'
        """
    )

    op.create_table(
        "complaint_clock",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "complaint_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("complaints.complaint_id", name="complaint_clock_complaint_id_fkey"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("which", sa.Text, nullable=False),
        sa.Column("transition", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("level", sa.SmallInteger),
        sa.Column("who", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("complaint_id", "seq", name="complaint_clock_complaint_seq_key"),
        sa.CheckConstraint("which IN ('acknowledge', 'resolve')", name="complaint_clock_which_known"),
        sa.CheckConstraint(
            "transition IN ('started', 'paused', 'resumed', 'warning', 'met', 'breached', 'stopped', "
            "'escalated', 'rearmed')",
            name="complaint_clock_transition_known",
        ),
    )
    # The SLA log is kept as it was written: the database refuses to change or remove a row.
    op.execute(
        """
        CREATE FUNCTION complaint_clock_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'complaint_clock is append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER complaint_clock_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON complaint_clock FOR EACH STATEMENT EXECUTE FUNCTION complaint_clock_append_only()"
    )
    # the SLA log of the complaints registered so far, from their history, in its order
    op.execute(
        """
        INSERT INTO complaint_clock (complaint_id, seq, which, transition, at, cycle, reason)
        SELECT complaint_id,
               ROW_NUMBER() OVER (PARTITION BY complaint_id ORDER BY hid, sub),
               which, transition, at,
               CASE WHEN which = 'resolve' THEN 1 + reopens ELSE 1 END,
               'rebuilt from the history'
          FROM (
                SELECT h.complaint_id, h.id AS hid, t.sub, t.which, t.transition,
                       CASE WHEN h.action = 'complaint.sla_breached'
                            THEN (h.data->>'due_at')::timestamptz ELSE h.at END AS at,
                       SUM(CASE WHEN h.action = 'complaint.reopen' THEN 1 ELSE 0 END)
                           OVER (PARTITION BY h.complaint_id ORDER BY h.id) AS reopens
                  FROM complaint_history h
                  CROSS JOIN LATERAL (
                        SELECT v.sub, v.which, v.transition
                          FROM (VALUES ('complaint.registered', 1, 'acknowledge', 'started'),
                                       ('complaint.registered', 2, 'resolve', 'started'),
                                       ('complaint.acknowledge', 1, 'acknowledge', 'met'),
                                       ('complaint.resolve', 1, 'resolve', 'met'),
                                       ('complaint.reopen', 1, 'resolve', 'started'))
                               AS v(action, sub, which, transition)
                         WHERE v.action = h.action
                        UNION ALL
                        SELECT 1, h.data->>'which', 'breached'
                         WHERE h.action = 'complaint.sla_breached' AND h.data->>'which' IN ('acknowledge', 'resolve')
                  ) t
          ) log
        """
    )
    # a target breached before this release and still unmet starts its escalation chain now (the first
    # step falls due at once, the next ones follow the configured delays)
    op.execute(
        """
        INSERT INTO due_items (kind, key, due_at, not_before, correlation_id)
        SELECT 'complaint.' || b.which || '_escalation', b.complaint_id::text, b.at, b.at, c.correlation_id
          FROM complaint_clock b
          JOIN complaints c ON c.complaint_id = b.complaint_id
         WHERE b.transition = 'breached'
           AND c.status NOT IN ('closed', 'withdrawn')
           AND NOT EXISTS (
                SELECT 1 FROM complaint_clock later
                 WHERE later.complaint_id = b.complaint_id AND later.which = b.which AND later.seq > b.seq
                   AND later.transition IN ('met', 'started', 'stopped'))
        ON CONFLICT (kind, key) DO NOTHING
        """
    )

    op.create_table(
        "staff",
        sa.Column("staff_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("department", sa.Text),
        sa.Column("supervisor_id", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("role IN ('agent', 'supervisor', 'manager')", name="staff_role_known"),
    )


def downgrade() -> None:
    op.drop_table("staff")
    op.execute("DROP TRIGGER IF EXISTS complaint_clock_append_only ON complaint_clock")
    op.execute("DROP FUNCTION IF EXISTS complaint_clock_append_only()")
    op.drop_table("complaint_clock")
    op.execute(
        "DELETE FROM due_items WHERE kind IN ('complaint.acknowledge_warning', 'complaint.resolve_warning', "
        "'complaint.acknowledge_escalation', 'complaint.resolve_escalation', 'complaint.satisfaction_follow_up')"
    )
    op.drop_index("complaints_agent", "complaints")
    op.drop_index("complaints_conversation", "complaints")
    op.drop_constraint("complaints_status_known", "complaints", type_="check")
    op.execute("UPDATE complaints SET status = 'closed', closed_at = withdrawn_at WHERE status = 'withdrawn'")
    op.create_check_constraint("complaints_status_known", "complaints", f"status IN ({STATUSES_BEFORE})")
    for name in (
        "follow_ups",
        "satisfied_at",
        "satisfaction_score",
        "withdrawn_at",
        "first_contact",
        "language",
        "reply_address",
        "reply_channel",
        "conversation_id",
    ):
        op.drop_column("complaints", name)

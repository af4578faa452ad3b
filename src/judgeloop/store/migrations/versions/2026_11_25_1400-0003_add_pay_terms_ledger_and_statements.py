"""add pay terms ledger and statements

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 14:00:00.000000

Written by hand. Money is integer micro-units (BigInteger). Besides the tables, this adds
database triggers that refuse UPDATE and DELETE on the append-only pay tables
(pay_terms, ledger_entries, payout_statement_entries) on SQLite and PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_TABLES = ('pay_terms', 'ledger_entries', 'payout_statement_entries')


def _created_at() -> sa.Column:
    return sa.Column(
        'created_at',
        sa.DateTime(timezone=True),
        server_default=sa.text('(CURRENT_TIMESTAMP)'),
        nullable=False,
    )


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('pay_terms',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('rate_micros', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('hourly_cap_seconds_per_task', sa.Integer(), nullable=True),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    _created_at(),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_pay_terms_actor_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_pay_terms_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pay_terms'))
    )
    with op.batch_alter_table('pay_terms', schema=None) as batch_op:
        batch_op.create_index('ix_pay_terms_project_id_effective_from', ['project_id', 'effective_from'], unique=False)

    op.create_table('payout_statements',
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('total_micros', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reference', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    _created_at(),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_payout_statements_actor_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_payout_statements_project_id_projects')),
    sa.ForeignKeyConstraint(['worker_id'], ['users.id'], name=op.f('fk_payout_statements_worker_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_statements'))
    )
    with op.batch_alter_table('payout_statements', schema=None) as batch_op:
        batch_op.create_index('ix_payout_statements_worker_id_state', ['worker_id', 'state'], unique=False)

    op.create_table('ledger_entries',
    sa.Column('idempotency_key', sa.String(length=120), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=True),
    sa.Column('terms_id', sa.Integer(), nullable=True),
    sa.Column('statement_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('amount_micros', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    _created_at(),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_ledger_entries_actor_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_ledger_entries_project_id_projects')),
    sa.ForeignKeyConstraint(['statement_id'], ['payout_statements.id'], name=op.f('fk_ledger_entries_statement_id_payout_statements')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_ledger_entries_submission_id_submissions')),
    sa.ForeignKeyConstraint(['terms_id'], ['pay_terms.id'], name=op.f('fk_ledger_entries_terms_id_pay_terms')),
    sa.ForeignKeyConstraint(['worker_id'], ['users.id'], name=op.f('fk_ledger_entries_worker_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_ledger_entries_idempotency_key'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_project_id_worker_id', ['project_id', 'worker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_statement_id'), ['statement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_submission_id'), ['submission_id'], unique=False)
        batch_op.create_index('ix_ledger_entries_worker_id_status', ['worker_id', 'status'], unique=False)

    op.create_table('payout_statement_entries',
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_payout_statement_entries_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['statement_id'], ['payout_statements.id'], name=op.f('fk_payout_statement_entries_statement_id_payout_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_statement_entries')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_payout_statement_entries_entry_id'))
    )
    with op.batch_alter_table('payout_statement_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_statement_entries_statement_id'), ['statement_id'], unique=False)

    _create_append_only_triggers()


def _create_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for table in APPEND_ONLY_TABLES:
            for action in ('update', 'delete'):
                op.execute(
                    f'CREATE TRIGGER {table}_no_{action} BEFORE {action.upper()} ON {table} '
                    f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END"
                )
    elif dialect == 'postgresql':
        op.execute(
            'CREATE FUNCTION judgeloop_refuse_change() RETURNS trigger AS $$ '
            "BEGIN RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME; END "
            '$$ LANGUAGE plpgsql'
        )
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} '
                'FOR EACH ROW EXECUTE FUNCTION judgeloop_refuse_change()'
            )


def _drop_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for table in APPEND_ONLY_TABLES:
            for action in ('update', 'delete'):
                op.execute(f'DROP TRIGGER IF EXISTS {table}_no_{action}')
    elif dialect == 'postgresql':
        for table in APPEND_ONLY_TABLES:
            op.execute(f'DROP TRIGGER IF EXISTS {table}_append_only ON {table}')
        op.execute('DROP FUNCTION IF EXISTS judgeloop_refuse_change()')


def downgrade() -> None:
    """Revert this revision."""
    _drop_append_only_triggers()
    with op.batch_alter_table('payout_statement_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_statement_entries_statement_id'))

    op.drop_table('payout_statement_entries')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_worker_id_status')
        batch_op.drop_index(batch_op.f('ix_ledger_entries_submission_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_entries_statement_id'))
        batch_op.drop_index('ix_ledger_entries_project_id_worker_id')

    op.drop_table('ledger_entries')
    with op.batch_alter_table('payout_statements', schema=None) as batch_op:
        batch_op.drop_index('ix_payout_statements_worker_id_state')

    op.drop_table('payout_statements')
    with op.batch_alter_table('pay_terms', schema=None) as batch_op:
        batch_op.drop_index('ix_pay_terms_project_id_effective_from')

    op.drop_table('pay_terms')

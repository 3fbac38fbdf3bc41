"""Sessions end server-side: a per-user session generation, bumped at sign-out; pending
authorizations counted per application

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # A session cookie names the generation it was issued for; signing out bumps it, so a copied
    # cookie no longer opens anything (blueprints/auth/session_policy.py).
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), nullable=False, server_default='0'))
    # Each application may hold only so many pending /authorize transactions (blueprints/authorize/).
    with op.batch_alter_table('pending_authorizations', schema=None) as batch_op:
        batch_op.create_index('ix_pending_authorizations_client_pk', ['client_pk'], unique=False)


def downgrade():
    with op.batch_alter_table('pending_authorizations', schema=None) as batch_op:
        batch_op.drop_index('ix_pending_authorizations_client_pk')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')

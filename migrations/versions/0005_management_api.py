"""Management API: a credential may be registered before any use references it; events keep the grant type

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # Auth0: a credential created through the API is "not yet enabled" until the application
    # references it, so its use is unknown until then (NULL).
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.alter_column('usage', existing_type=sa.String(length=40), nullable=True)
    with op.batch_alter_table('auth_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grant_type', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('auth_events', schema=None) as batch_op:
        batch_op.drop_column('grant_type')
    op.execute("DELETE FROM credentials WHERE usage IS NULL")
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.alter_column('usage', existing_type=sa.String(length=40), nullable=False)

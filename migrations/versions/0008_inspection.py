"""auth_events.inspection: the inspector's record of every check an attempt made (JSON, optional)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # NULL for older events and for successes the inspector did not keep (models/auth_event.py).
    with op.batch_alter_table('auth_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inspection', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('auth_events', schema=None) as batch_op:
        batch_op.drop_column('inspection')

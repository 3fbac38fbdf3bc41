"""clients.require_pkce: PKCE for confidential clients too, unless an administrator opts out;
credentials.issuer_dn: a tls_client_auth subject DN may pin its issuing CA

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # RFC 9700 §2.1.1: existing applications are required to use PKCE too (blueprints/oauth/pkce.py).
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_pkce', sa.Boolean(), nullable=False, server_default=sa.true()))
    # Existing subject DNs accept a certificate from any trusted CA, as before (NULL).
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issuer_dn', sa.String(length=1024), nullable=True))


def downgrade():
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_column('issuer_dn')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('require_pkce')

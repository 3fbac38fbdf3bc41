"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 00:59:51.286553

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('app_type', sa.String(length=32), nullable=False),
    sa.Column('token_endpoint_auth_method', sa.String(length=40), nullable=False),
    sa.Column('grant_types', sa.JSON(), nullable=False),
    sa.Column('callback_urls', sa.JSON(), nullable=False),
    sa.Column('secret_ciphertext', sa.Text(), nullable=True),
    sa.Column('secret_digest', sa.String(length=64), nullable=True),
    sa.Column('secret_rotated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('require_proof_of_possession', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients')),
    sa.UniqueConstraint('client_id', name=op.f('uq_clients_client_id'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('auth_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('client_id_sent', sa.String(length=128), nullable=True),
    sa.Column('client_pk', sa.Integer(), nullable=True),
    sa.Column('endpoint', sa.String(length=32), nullable=True),
    sa.Column('method', sa.String(length=40), nullable=True),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('reason_code', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('source_ip', sa.String(length=64), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=True),
    sa.ForeignKeyConstraint(['client_pk'], ['clients.id'], name=op.f('fk_auth_events_client_pk_clients'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_events'))
    )
    with op.batch_alter_table('auth_events', schema=None) as batch_op:
        batch_op.create_index('ix_auth_events_client_pk_created_at', ['client_pk', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_auth_events_created_at'), ['created_at'], unique=False)

    op.create_table('client_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_pk', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(length=255), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_pk'], ['clients.id'], name=op.f('fk_client_grants_client_pk_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_grants')),
    sa.UniqueConstraint('client_pk', 'audience', name=op.f('uq_client_grants_client_pk'))
    )
    with op.batch_alter_table('client_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_grants_client_pk'), ['client_pk'], unique=False)

    op.create_table('credentials',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('client_pk', sa.Integer(), nullable=False),
    sa.Column('usage', sa.String(length=40), nullable=False),
    sa.Column('credential_type', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=True),
    sa.Column('alg', sa.String(length=16), nullable=True),
    sa.Column('pem', sa.Text(), nullable=True),
    sa.Column('subject_dn', sa.String(length=1024), nullable=True),
    sa.Column('thumbprint_sha256', sa.String(length=64), nullable=True),
    sa.Column('key_thumbprint', sa.String(length=64), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_pk'], ['clients.id'], name=op.f('fk_credentials_client_pk_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credentials')),
    sa.UniqueConstraint('key_thumbprint', name=op.f('uq_credentials_key_thumbprint'))
    )
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credentials_client_pk'), ['client_pk'], unique=False)

    op.create_table('used_assertions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_pk', sa.Integer(), nullable=False),
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_pk'], ['clients.id'], name=op.f('fk_used_assertions_client_pk_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_used_assertions')),
    sa.UniqueConstraint('client_pk', 'jti', name=op.f('uq_used_assertions_client_pk'))
    )
    with op.batch_alter_table('used_assertions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_assertions_expires_at'), ['expires_at'], unique=False)



def downgrade():
    with op.batch_alter_table('used_assertions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_assertions_expires_at'))

    op.drop_table('used_assertions')
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credentials_client_pk'))

    op.drop_table('credentials')
    with op.batch_alter_table('client_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_grants_client_pk'))

    op.drop_table('client_grants')
    with op.batch_alter_table('auth_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_events_created_at'))
        batch_op.drop_index('ix_auth_events_client_pk_created_at')

    op.drop_table('auth_events')
    op.drop_table('users')
    op.drop_table('clients')

"""payments: bank accounts, mandates, payment authorizations, purchases

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 07:00:00

The IBAN is stored only sealed (`iban_sealed`) and as a keyed digest (`iban_digest`); its last
four characters are the only part in clear. New columns on existing tables are nullable, so
the upgrade needs no data migration.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_accounts",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("iban_digest", sa.String(length=64), nullable=False),
        sa.Column("iban_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("iban_last4", sa.String(length=4), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("flagged_for_review", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_pk"], ["users.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk"),
    )
    with op.batch_alter_table("bank_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_accounts_user_pk"), ["user_pk"], unique=False)
        batch_op.create_index("ix_bank_accounts_user_iban", ["user_pk", "iban_digest"], unique=True)
    op.create_table(
        "mandates",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=35), nullable=False),
        sa.Column("client_pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("signature_pk", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_pk"], ["bank_accounts.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_pk"], ["clients.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["signature_pk"], ["signatures.pk"]),
        sa.ForeignKeyConstraint(["user_pk"], ["users.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("reference"),
    )
    with op.batch_alter_table("mandates", schema=None) as batch_op:
        batch_op.create_index("ix_mandates_user_client", ["user_pk", "client_pk"], unique=False)
    op.create_table(
        "payment_authorizations",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("authorization_id", sa.String(length=24), nullable=False),
        sa.Column("client_pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("mandate_pk", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("device_uid", sa.String(length=200), nullable=True),
        sa.Column("signature_pk", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_pk"], ["bank_accounts.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_pk"], ["clients.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mandate_pk"], ["mandates.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["signature_pk"], ["signatures.pk"]),
        sa.ForeignKeyConstraint(["user_pk"], ["users.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("authorization_id"),
    )
    with op.batch_alter_table("payment_authorizations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_authorizations_device_uid"), ["device_uid"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payment_authorizations_signature_pk"), ["signature_pk"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payment_authorizations_user_pk"), ["user_pk"], unique=False
        )
    op.create_table(
        "purchases",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("purchase_id", sa.String(length=24), nullable=False),
        sa.Column("authorization_pk", sa.Integer(), nullable=False),
        sa.Column("ref_id", sa.String(length=200), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorization_pk"], ["payment_authorizations.pk"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("authorization_pk"),
        sa.UniqueConstraint("purchase_id"),
    )
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purchases_created_at"), ["created_at"], unique=False)
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mandate_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("auth_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_bank_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("pending_bank_last4", sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column("pending_bank_holder", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("pending_account_pk", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("mandate_reference", sa.String(length=35), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auth_requests", schema=None) as batch_op:
        batch_op.drop_column("mandate_reference")
        batch_op.drop_column("pending_account_pk")
        batch_op.drop_column("pending_bank_holder")
        batch_op.drop_column("pending_bank_last4")
        batch_op.drop_column("pending_bank_sealed")
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_column("mandate_sha256")
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchases_created_at"))
    op.drop_table("purchases")
    with op.batch_alter_table("payment_authorizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_authorizations_user_pk"))
        batch_op.drop_index(batch_op.f("ix_payment_authorizations_signature_pk"))
        batch_op.drop_index(batch_op.f("ix_payment_authorizations_device_uid"))
    op.drop_table("payment_authorizations")
    with op.batch_alter_table("mandates", schema=None) as batch_op:
        batch_op.drop_index("ix_mandates_user_client")
    op.drop_table("mandates")
    with op.batch_alter_table("bank_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_accounts_user_iban")
        batch_op.drop_index(batch_op.f("ix_bank_accounts_user_pk"))
    op.drop_table("bank_accounts")

"""purchases: a client's order reference (ref_id) is captured once

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 09:10:00

Adds `purchases.client_pk` (filled from each purchase's payment authorization) and the unique
index `ix_purchases_client_ref` on (client_pk, ref_id): two authorizations captured at the same
time with one ref_id can no longer both become purchases. The upgrade stops, naming how many,
when a database already holds such duplicates: which purchase is the real one is for the operator
to decide, not for a migration.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_pk", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE purchases SET client_pk = (SELECT a.client_pk FROM payment_authorizations a "
        "WHERE a.pk = purchases.authorization_pk)"
    )
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT count(*) FROM (SELECT client_pk, ref_id FROM purchases "
                "GROUP BY client_pk, ref_id HAVING count(*) > 1) AS d"
            )
        )
        .scalar_one()
    )
    if duplicates:
        raise RuntimeError(
            f"{duplicates} order reference(s) (purchases.ref_id) were captured more than once "
            "by the same client; resolve them (keep one purchase each) before upgrading."
        )
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.alter_column("client_pk", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            "fk_purchases_client_pk_clients", "clients", ["client_pk"], ["pk"], ondelete="CASCADE"
        )
        batch_op.create_index("ix_purchases_client_ref", ["client_pk", "ref_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.drop_index("ix_purchases_client_ref")
        batch_op.drop_constraint("fk_purchases_client_pk_clients", type_="foreignkey")
        batch_op.drop_column("client_pk")

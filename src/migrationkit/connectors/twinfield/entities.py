"""What the connector does with each entity in Twinfield: the one table of it.

The plugin's capability flags are derived from these rows, and the handlers read them. Two
ways of taking a record back recur:

- dimensions (accounts, customers, suppliers, cost centres) are deleted while unused and
  hidden (archived) once a transaction uses them: Twinfield keeps what was posted to;
- transactions are written provisional (``destiny="temporary"``) and finalised when the run
  succeeded (option ``finalise``). Only a provisional transaction can be deleted, with a
  reason Twinfield records; a final one stays and is reversed by a counter-entry (``void``).
  A changed transaction is therefore replaced: the old one deleted or reversed, the new one
  entered.
"""

from __future__ import annotations

from migrationkit.core.capabilities import Removal
from migrationkit.handlers import Entity, EntityTable, Update

from .client import MAX_CHILDREN, MAX_LINES

__all__ = ["BATCH", "TABLE"]

BATCH = MAX_CHILDREN
"""Records per load call: one ProcessXml document of at most 25 elements."""

_DIMENSION = (Removal.DELETE, Removal.ARCHIVE)
_TRANSACTION = (Removal.DELETE, Removal.VOID)
_CODE = 16
"""Twinfield dimension codes are at most 16 characters."""

_POSTS = (
    " Written provisional and finalised when the run succeeds (option finalise); a "
    "provisional one is deleted with a reason, a final one reversed by a counter-entry. "
    "Twinfield numbers transactions itself (year and sequence per day book)."
)


def _posts(name: str, endpoint: str, notes: str, **extra: object) -> Entity:
    values: dict[str, object] = {
        "update": Update.REPLACE,
        "removal": _TRANSACTION,
        "batch_size": BATCH,
    }
    values.update(extra)
    return Entity(name=name, endpoint=endpoint, notes=notes + _POSTS, **values)  # type: ignore[arg-type]


TABLE = EntityTable(
    Entity(
        name="company",
        endpoint="office",
        match_only=True,
        notes="The company is the administration (office) chosen by location: its base "
        "currency is checked and the record matched onto it, never created.",
    ),
    Entity(
        name="tax_rates",
        endpoint="vat",
        match_only=True,
        notes="VAT codes carry the office's VAT return boxes, which a source cannot know: each "
        "source tax code is matched onto a pair of the office's codes, one for sales and one "
        "for purchases (by percentage, or the option vat_codes). Nothing is written.",
    ),
    Entity(
        name="ledger_accounts",
        endpoint="dimensions BAS, PNL",
        preserve_ids=True,
        batch_size=BATCH,
        removal=_DIMENSION,
        max_code_length=_CODE,
        notes="Balance-sheet accounts become BAS dimensions, the others PNL, with their codes "
        "and a dimension group for their type. Debtors, creditors and VAT control accounts "
        "land on the office's own (those of its day books and VAT codes); a code the office "
        "already has is matched onto it.",
    ),
    Entity(
        name="tracking_categories",
        endpoint="dimensions KPL",
        removal=_DIMENSION,
        preserve_ids=True,
        notes="Twinfield has one cost-centre dimension (KPL): one tracking category moves, its "
        "options becoming cost centres with their keys as codes; cost centres go on profit "
        "and loss lines only.",
    ),
    Entity(
        name="bank_accounts",
        endpoint="transactiontype (bank books)",
        match_only=True,
        notes="A bank account is a bank or cash day book of the office, set up in Twinfield's "
        "bank settings: each source bank account is matched onto the day book the option "
        "bank_daybooks names. Nothing is written.",
    ),
    Entity(
        name="contacts",
        endpoint="dimensions DEB, CRD",
        preserve_ids=True,
        batch_size=BATCH,
        removal=_DIMENSION,
        max_code_length=_CODE,
        notes="Customers become DEB dimensions and suppliers CRD, with their codes (a contact "
        "that is both gets both).",
    ),
    Entity(
        name="items",
        endpoint="articles",
        preserve_ids=True,
        removal=(Removal.DELETE,),
        max_code_length=_CODE,
        notes="Articles of Twinfield's invoicing, with code, name and unit price; transactions "
        "do not name articles, so lines read back without them.",
    ),
    _posts(
        "opening_balances",
        "transactions (memorial, period 00)",
        "A memorial transaction in period 00 against the option opening_balance_account; "
        "debtors and creditors control balances are held by the open items.",
    ),
    _posts(
        "invoices",
        "transactions (sales and purchase day books)",
        "Total, detail and VAT lines; the source number is kept as the invoice number. "
        "Twinfield balances VAT per line as sent (no automatic rounding).",
        preserve_ids=True,
        max_reference_length=40,
        max_lines=MAX_LINES - 2,
    ),
    _posts(
        "refunds",
        "transactions (bank day books)",
        "A bank transaction with a line on the customer or supplier.",
    ),
    _posts(
        "open_items",
        "transactions (sales and purchase day books, period 00)",
        "An open item of the opening balance against the opening-balance account.",
        preserve_ids=True,
        max_reference_length=40,
    ),
    _posts(
        "credit_notes",
        "transactions (sales and purchase day books)",
        "As invoices, on the other side; allocations are left to Twinfield's matching.",
        preserve_ids=True,
        max_reference_length=40,
        max_lines=MAX_LINES - 2,
    ),
    _posts(
        "payments",
        "transactions (bank day books)",
        "A bank transaction with one line per allocation, naming the invoice number it settles.",
    ),
    _posts(
        "bank_transactions",
        "transactions (bank day books)",
        "Detail and VAT lines in the bank book; the contact is not kept.",
        max_lines=MAX_LINES - 2,
    ),
    _posts(
        "bank_transfers",
        "transactions (bank day books)",
        "A bank transaction from one book to the other book's account, in one currency.",
    ),
    _posts(
        "manual_journals",
        "transactions (memorial)",
        "Detail lines in the memorial; a line on the debtors or creditors account needs a "
        "customer or supplier, which a journal line does not have.",
        max_lines=MAX_LINES,
    ),
)

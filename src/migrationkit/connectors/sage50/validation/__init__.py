"""The sage50-json validator: every rule of ``docs/formats/sage50-json.md`` §11, by family.

``validate_file(path)`` yields :class:`~migrationkit.core.findings.Finding` objects; a file is
valid when none of them is an error.  :data:`RULES` holds every finding it can report (code,
severity, meaning and messages); the documentation's rule table is generated from it.

The file is streamed, never loaded whole.  The modules, in the order a run uses them:

* ``rules``: the registry, every finding code defined once; ``report`` collects findings.
* ``reading``: the two streaming passes over the file and unreadable files; ``driver`` runs them.
* ``values``: the schema, each value's rule and each object's keys (shape and type checks).
* ``masters``: the company, chart, departments, tax codes, banks, parties and products.
* ``opening``: the opening trial balance and open items.
* ``trail``: each audit-trail header as it streams past, through ``fastlane`` (a quick
  acceptance test for a typical valid header) or ``headers`` (reading) and ``transactions``
  (the rules of one header); ``context`` judges account, bank and currency combinations once;
  ``posting`` is the table of transaction types and how they post.
* ``closing``: what needs the whole file (allocations, outstanding, journals and balances),
  from the compact per-header columns of ``indexes``.

Inside the trail, amounts are whole pence in ``int`` (:func:`migrationkit.core.money.pence`):
exact for the two-decimal amounts the format allows, and far cheaper than ``Decimal`` per
value.  Messages name the header, the account and the amounts, for a bookkeeper rather than a
parser.
"""

from __future__ import annotations

from .driver import validate_file
from .rules import RULES, Rule

__all__ = ["RULES", "Rule", "validate_file"]

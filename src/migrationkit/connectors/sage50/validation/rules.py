"""Every finding the sage50-json validator can report, each defined once: the rule registry.

A :class:`Rule` is one finding code with its severity, a sentence saying what it means (the
documentation's rule table is generated from it) and the message templates of the situations
it is reported in.  The checks live in the family modules (``masters``, ``opening``,
``transactions``, ``closing`` ...); they report through these objects, so a code, its severity
and its wording cannot drift apart between the places that report it.  A code is reported by
several families (an unknown nominal in the chart, the trial balance or a split), which is why
the definitions are one catalogue here rather than spread over the modules that check them.

Sections (``§11.6``) are those of ``docs/formats/sage50-json.md``, our description of the
format, where each rule is explained.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from migrationkit.core.findings import Finding, Severity

__all__ = ["RULES", "Rule", "rule"]

ERROR = Severity.ERROR
WARNING = Severity.WARNING


@attrs.frozen
class Rule:
    """One finding code: its severity, its meaning and the messages it is reported with.

    ``messages`` maps a situation to a :meth:`str.format` template.  The template is filled
    from the finding's ``details`` and the words the check adds for the message alone
    (``where``, the header's name; ``listed``, "customer" ...).
    """

    code: str
    severity: Severity
    summary: str
    section: str
    messages: Mapping[str, str]

    def message(self, situation: str, values: Mapping[str, Any]) -> str:
        """The message of ``situation`` filled from ``values``."""
        return self.messages[situation].format_map(values)

    def finding(
        self,
        situation: str,
        pointer: str,
        header_number: int | None = None,
        details: Mapping[str, Any] | None = None,
        **words: Any,
    ) -> Finding:
        """A finding of this rule; ``details`` become its details, ``words`` only fill the text."""
        facts = dict(details) if details else {}
        return Finding(
            code=self.code,
            severity=self.severity,
            message=self.message(situation, {**facts, **words}),
            pointer=pointer,
            header_number=header_number,
            details=facts,
        )


RULES: dict[str, Rule] = {}
"""Every rule by code, in the order of the format description."""


def rule(
    code: str,
    *,
    summary: str,
    section: str,
    messages: Mapping[str, str] | str,
    severity: Severity = ERROR,
) -> Rule:
    """Define and register a rule; a plain string is the template of its only situation ("")."""
    if code in RULES:
        raise ValueError(f"rule {code} is defined twice")
    templates = {"": messages} if isinstance(messages, str) else dict(messages)
    defined = Rule(code, severity, summary, section, templates)
    RULES[code] = defined
    return defined


# ============================================================================================
# §11.1 Reading the file
# ============================================================================================

FILE_NOT_FOUND = rule(
    "FILE_NOT_FOUND",
    summary="There is no file at the path given.",
    section="11.1",
    messages="There is no file {name}.",
)
FILE_UNREADABLE = rule(
    "FILE_UNREADABLE",
    summary="The file exists but cannot be opened or read to the end (a folder, no permission, "
    "a disk or network failure).",
    section="11.1",
    messages={
        "open": "The file {name} cannot be opened: {reason}.",
        "read": "Reading {name} failed part-way: {reason}.",
    },
)
FILE_EMPTY = rule(
    "FILE_EMPTY",
    summary="The file has no bytes, or only blank space.",
    section="11.1",
    messages={
        "empty": "The file is empty (0 bytes).",
        "blank": "The file holds only blank space ({size} bytes), no data.",
    },
)
ENCODING = rule(
    "ENCODING",
    summary="The file is not UTF-8 without a byte-order mark: a BOM, UTF-16 or UTF-32 text, or "
    "bytes that are not UTF-8 (typically Windows-1252 accents).",
    section="11.1",
    messages={
        "bom": "The file starts with {what}. sage50-json files are UTF-8 without a BOM "
        "(docs/formats/sage50-json.md §1); export the file again as UTF-8 without a BOM.",
        "wide": "The file contains NUL bytes at its start, so it is UTF-16 or UTF-32 text, not "
        "UTF-8; export the file again as UTF-8.",
        "byte": "The file is not UTF-8: byte {byte} at line {line}, column {column} (byte "
        "{offset}) is not valid UTF-8. It looks like Windows-1252 or Latin-1 text ({guess}); "
        "export the file again as UTF-8.",
    },
)
JSON_MALFORMED = rule(
    "JSON_MALFORMED",
    summary="The file is not valid JSON, or ends before the JSON does (a cut-off copy).",
    section="11.1",
    messages={
        "truncated": "The file ends before the JSON is complete (after {offset} bytes, line "
        "{line}): it may have been cut off during export or copying.",
        "syntax": "The file is not valid JSON at line {line}, column {column} (byte {offset}): "
        "{reason}.",
    },
)
FORMAT_UNSUPPORTED = rule(
    "FORMAT_UNSUPPORTED",
    summary="The file does not say it is sage50-json, or names a major version other than 1. "
    "Nothing else is checked.",
    section="11.1",
    messages={
        "format": 'This is not a sage50-json file: its format is {shown}, not "sage50-json". '
        "Nothing else was checked.",
        "version": "sage50-json format_version {shown} is not supported; this validator reads "
        'version "1.0". Nothing else was checked.',
    },
)

# ============================================================================================
# §11.2 Shape and values
# ============================================================================================

SCHEMA_VIOLATION = rule(
    "SCHEMA_VIOLATION",
    summary="The structure is wrong where no more specific rule applies: a key missing, unknown "
    "or repeated, a value of the wrong kind, too long or outside its list of allowed values.",
    section="11.2",
    messages={
        "value": "{where}: {key} {problem}.",
        "missing": "{where} has no {missing_key}.",
        "unknown_key": "{where} has a key {unknown_key!r} that the format does not define.",
        "not_an_object": "Entry {n} of {what} must be an object, not {found}.",
        "part_not_an_object": "{where}: {part} {n} must be an object, not {found}.",
        "empty": "The {what} is empty.",
        "flat_rate_missing": "The company uses the flat-rate VAT scheme but gives no "
        "flat_rate_percent.",
        "flat_rate_extra": "The company uses the {scheme} VAT scheme, so flat_rate_percent must "
        "be null, not {found}.",
        "both_sides": "Trial balance line {code} has both a debit ({debit}) and a credit "
        "({credit}); one side must be zero.",
        "open_item_ledger": "{where} is a {type_name} but is listed among the {listed} open items.",
        "no_splits": "{where} has no splits.",
        "foreign_missing": "{where} is in {currency} but {what} no {missing_key} (the amount in "
        "{currency}).",
        "top_level": "The file holds {top_level} at the top level; a sage50-json export is one "
        "JSON object with format, company, nominal_accounts and the other sections.",
        "minor_version": "format_version is {format_version}; this validator knows 1.0 and "
        "checks the file as 1.0.",
        "unknown_top_key": "The file has a top-level key {unknown_key!r} that the format does "
        "not define.",
        "repeated_top_key": "The top-level key {repeated_key!r} appears more than once; only "
        "the first one was checked.",
    },
)
MONEY_FORMAT = rule(
    "MONEY_FORMAT",
    summary="An amount is not decimal text with at most two decimals. A JSON number is wrong "
    "even when its value is exact; the checks that follow still use a plain value.",
    section="11.2",
    messages={"value": "{where}: {key} {problem}."},
)
DATE_INVALID = rule(
    "DATE_INVALID",
    summary="A date is not written YYYY-MM-DD or is not a real calendar date (or a timestamp "
    "is not a real date and time).",
    section="11.2",
    messages={"value": "{where}: {key} {problem}."},
)
DATE_OUT_OF_RANGE = rule(
    "DATE_OUT_OF_RANGE",
    summary="A date lies before 1980-01-01 or more than 365 days after the export.",
    section="11.2",
    messages={
        "": "{where} has the date {date}, outside {low} to {high} (365 days after the export).",
        "header": "{where} has {key} {date}, outside {low} to {high} (365 days after the export).",
        "allocation": "{where}, allocation {n} is dated {date}, outside {low} to {high}.",
    },
)

# ============================================================================================
# §11.3 Uniqueness and history mode
# ============================================================================================

DUPLICATE_KEY = rule(
    "DUPLICATE_KEY",
    summary="A code that identifies a record appears twice in its list: a nominal code, "
    "department, tax code, bank, customer or supplier reference, stock code or trial balance "
    "nominal.",
    section="11.3",
    messages="{what} appears more than once (first at {first}).",
)
DUPLICATE_HEADER_NUMBER = rule(
    "DUPLICATE_HEADER_NUMBER",
    summary="Two headers share a header number; numbers are unique across the transactions and "
    "the open items together.",
    section="11.3",
    messages="Header number {hn} is used twice (first at {first}); header numbers are unique "
    "across the transactions and the open items.",
)
HISTORY_MODE = rule(
    "HISTORY_MODE",
    summary="The file breaks its history mode: opening balances or transactions where the mode "
    "has none (or none where it needs them), a transaction dated on or before the opening "
    "date, or an open item dated after it.",
    section="11.3",
    messages={
        "opening_forbidden": "The file is records_only (master data only) but has opening "
        "balances; they must be null.",
        "opening_needed": "The file is {history_mode} but has no opening balances; that mode "
        "requires them.",
        "trail_forbidden": "The file is {history_mode} but has transactions; that mode has an "
        "empty transactions list.",
        "open_item_late": "{where} is dated {date}, after the opening balance date {as_of}; "
        "open items must be on or before it.",
        "transaction_early": "{where} is dated {date}, on or before the opening balance date "
        "{as_of}; full-history transactions come after it.",
    },
)

# ============================================================================================
# §11.4 References
# ============================================================================================

UNKNOWN_NOMINAL = rule(
    "UNKNOWN_NOMINAL",
    summary="A nominal code is named that the chart of accounts does not have: by a split, a "
    "bank, a trial balance line, a product, a customer or supplier default, or a journal "
    "line's account_ref.",
    section="11.4",
    messages={
        "": "{where} names nominal code {nominal_code}, which is not in the chart of accounts.",
        "bank": "Bank account {nominal_code} has no nominal account {nominal_code} in the chart.",
        "split": "{where}, split {n}: nominal code {nominal_code} is not in the chart of accounts.",
        "posts": "{where} posts to nominal code {nominal_code}, which is not in the chart of "
        "accounts.",
    },
)
UNKNOWN_TAX_CODE = rule(
    "UNKNOWN_TAX_CODE",
    summary="A tax code is named that the tax code list does not have: by a split, a product "
    "or a customer or supplier default.",
    section="11.4",
    messages={
        "": "{where} names tax code {tax_code}, which is not in the tax code list.",
        "split": "{where}, split {n}: tax code {tax_code} is not in the tax code list.",
    },
)
UNKNOWN_ACCOUNT_REF = rule(
    "UNKNOWN_ACCOUNT_REF",
    summary="A sales-ledger item names no customer, a purchase-ledger item no supplier, or a "
    "product's supplier is not on the supplier list.",
    section="11.4",
    messages={
        "": "{where}: account {account_ref} is not a {listed}.",
        "open_item": "{where} is for account {account_ref}, which is not a {listed}.",
        "product": "{where} names supplier {account_ref}, which is not in the supplier list.",
    },
)
UNKNOWN_BANK = rule(
    "UNKNOWN_BANK",
    summary="A bank_code, or the account_ref of a bank, cash or credit card entry, is not one of "
    "the bank accounts.",
    section="11.4",
    messages="{where}: bank {bank_code} is not in the bank accounts.",
)
UNKNOWN_DEPARTMENT = rule(
    "UNKNOWN_DEPARTMENT",
    summary="A split names a department that is neither 0 (none) nor listed.",
    section="11.4",
    messages="{where}, split {n}: department {department} is not listed.",
)

# ============================================================================================
# §11.5 The chart
# ============================================================================================

NOMINAL_TYPE_MISMATCH = rule(
    "NOMINAL_TYPE_MISMATCH",
    summary="A nominal account's type is not the one its code's range gives it (or the code is "
    "below 0010), or a bank sits on an account that is neither current assets nor liabilities.",
    section="11.5",
    messages={
        "": "Nominal account {code} has type {stated}, but its code puts it in {expected}.",
        "below_chart": "Nominal code {code} is invalid: codes starting 0000 to 0009 have no place "
        "in the chart.",
        "bank": "Bank account {nominal_code} sits on a {type} nominal account; a bank must be "
        "current_assets or liabilities.",
    },
)
CONTROL_ROLE = rule(
    "CONTROL_ROLE",
    summary="A control role every company needs has no account, a role is held by two "
    "accounts, or a bank sits on a control account.",
    section="11.5",
    messages={
        "missing": "No nominal account holds the {role} role, which every company needs.",
        "twice": "Nominal accounts {first} and {code} both hold the {role} role; each control "
        "role belongs to one account.",
        "bank": "Bank account {nominal_code} sits on the {role} control account; a bank account "
        "must not hold a control role.",
    },
)

# ============================================================================================
# §11.6 Headers and splits
# ============================================================================================

HEADER_TOTALS = rule(
    "HEADER_TOTALS",
    summary="A header's gross is not its net plus its tax (in GBP, or in its own currency).",
    section="11.6",
    messages="{where}: {prefix}gross {label}{gross} is not net {net} + tax {tax} = {expected}.",
)
SPLIT_TOTALS = rule(
    "SPLIT_TOTALS",
    summary="A header's net or tax is not the sum of its splits' (in GBP, or in its own currency).",
    section="11.6",
    messages="{where}: {prefix}{what} {header} is not the sum of its splits, {splits}.",
)
TAX_CALCULATION = rule(
    "TAX_CALCULATION",
    summary="A split's VAT is more than 0.01 away from its net at the tax code's rate, rounded "
    "per line; or a 0%, EC-purchase or reverse-charge code carries VAT.",
    section="11.6",
    messages={
        "": "{where}, split {n}: VAT at {rate}% ({tax_code}) on {net} is {expected}, but the "
        "split says {tax}.",
        "no_vat": "{where}, split {n} uses {tax_code}, {why}, but has tax {tax}; it must be 0.00.",
    },
)
TYPE_RULE = rule(
    "TYPE_RULE",
    summary="A header breaks the shape of its transaction type: the wrong kind of account_ref "
    "or bank, a bank of the wrong kind, a payment or journal split that is not a positive "
    "untaxed amount on its own nominal, a journal line without exactly one split or without "
    "its group, a journal over several dates, allocations on an item others settle, or a "
    "negative gross.",
    section="11.6",
    messages={
        "no_group": "{where}: a journal line must name its journal_group.",
        "stray_group": "{where}: only journal lines carry a journal_group, not {group}.",
        "negative_gross": "{where}: gross is {gross}; gross is never negative.",
        "negative_foreign_gross": "{where}: foreign gross is {gross}; it is never negative.",
        "allocations_on_target": "{where}: a {type_name} is settled by other items, so it cannot "
        "carry allocations.",
        "open_item_allocations": "{where} is a {type_name}, which other items settle; it cannot "
        "carry allocations.",
        "journal_splits": "{where}: a journal line has exactly one split, not {count}.",
        "split_nominal": "{where}: split {n} posts to {nominal} but must post to its {what} {own}.",
        "split_tax": "{where}: split {n} has tax {tax}; a {type_name} carries no tax.",
        "split_net": "{where}: split {n} has net {net}; it must be more than 0.00.",
        "stray_bank": "{where}: a {type_name} has no bank, but bank_code is {bank}.",
        "no_bank": "{where}: a {type_name} must name its bank in {key}.",
        "bank_ref": "{where}: account_ref must be the bank's nominal code, not {ref}.",
        "bank_differs": "{where}: bank_code {bank} differs from account_ref {ref}; both name the "
        "bank.",
        "bank_type": "{where}: a {type_name} needs a {needed} bank, but {bank} is a {actual} "
        "account.",
        "journal_ref": "{where}: account_ref must be the line's nominal code, not {ref}.",
        "journal_bank": "{where}: a journal line has no bank, but bank_code is {bank}.",
        "group_number": "Journal line {first}: its journal_group {journal_group} is not the "
        "header number of any line of that journal.",
        "group_dates": "Journal {journal_group} spreads over several dates; its lines share one "
        "date.",
    },
)
CURRENCY = rule(
    "CURRENCY",
    summary="A currency rule is broken: an item in another currency than its account or bank, "
    "a bank in a third currency, a GBP item with a rate other than 1 or with foreign amounts, a "
    "split's GBP amount more than 0.01 from its converted foreign amount, or a journal not in "
    "GBP.",
    section="11.6",
    messages={
        "account": "{where}: it is in {currency} but {what} is in {account_currency}.",
        "open_item_account": "{where} is in {currency} but account {account_ref} trades in "
        "{account_currency}.",
        "bank": "{where}: it is in {currency} but goes through bank {bank}, which is in "
        "{bank_currency}; the bank must be in GBP or the transaction currency.",
        "journal": "{where}: it is in {currency}; journals are always in GBP.",
        "gbp_rate": "{where} is in GBP, so its exchange rate must be 1, not {exchange_rate}.",
        "gbp_foreign": "{where} is in GBP but carries foreign amounts; they must be absent or "
        "null.",
        "conversion": "{where}, split {n}: {currency} {foreign} at {exchange_rate} is GBP "
        "{expected}, but the split's {what} is {actual}.",
    },
)

# ============================================================================================
# §11.7 Double entry and balances
# ============================================================================================

JOURNAL_UNBALANCED = rule(
    "JOURNAL_UNBALANCED",
    summary="The debit lines of a journal do not add up to its credit lines.",
    section="11.7",
    messages="Journal {journal_group} does not balance: debits {debits}, credits {credits}.",
)
TRAIL_UNBALANCED = rule(
    "TRAIL_UNBALANCED",
    summary="Over all headers that are not deleted, what the audit trail posts to debits and "
    "to credits differs.",
    section="11.7",
    messages="The audit trail does not balance: debits {debits}, credits {credits} (difference "
    "{difference}).",
)
OPENING_TB_UNBALANCED = rule(
    "OPENING_TB_UNBALANCED",
    summary="The debits of the opening trial balance do not equal its credits.",
    section="11.7",
    messages="The opening trial balance does not balance: debits {debits}, credits {credits} "
    "(difference {difference}).",
)
OPENING_LEDGER_MISMATCH = rule(
    "OPENING_LEDGER_MISMATCH",
    summary="The opening trial balance's debtors (or creditors) control line differs from the "
    "customer (or supplier) open items behind it.",
    section="11.7",
    messages="The opening trial balance shows {trial_balance} ({side}) on {role} {nominal_code}, "
    "but the {noun} open items add up to {open_items}.",
)
NOMINAL_BALANCE_MISMATCH = rule(
    "NOMINAL_BALANCE_MISMATCH",
    summary="A nominal account states a closing balance other than its opening balance plus "
    "everything the audit trail posts to it.",
    section="11.7",
    messages="Nominal account {nominal_code} states a balance of {stated}, but the opening "
    "balance plus postings is {expected} (debit positive).",
)

# ============================================================================================
# §11.8 Allocations and what is outstanding
# ============================================================================================

ALLOCATION_INVALID = rule(
    "ALLOCATION_INVALID",
    summary="An allocation cannot settle what it points at (missing, deleted, another ledger, "
    "account or currency, or not an item that allocations settle), its amount is not above "
    "0.00, or a deleted header still carries allocations.",
    section="11.8",
    messages={
        "": "The {source} allocates {amount} to header {target}, but {reason}.",
        "amount": "{where}, allocation {n} has amount {amount}; an allocation must be more than "
        "0.00.",
        "deleted": "{where} is deleted but still carries {count} allocation(s).",
    },
)
OVER_ALLOCATION = rule(
    "OVER_ALLOCATION",
    summary="The allocations made by an item, or made to it, add up to more than it can "
    "settle: its gross, or for an open item what it had outstanding at the opening date.",
    section="11.8",
    messages={
        "source": "{where} allocates {allocated} in total, more than its {foreign}gross {cap}.",
        "open_item_source": "{where} allocates {allocated} in total, more than the "
        "{outstanding} it had outstanding at the opening balance date.",
        "target": "{where} has {allocated} allocated to it, more than its gross {cap}.",
        "open_item_target": "Open item {hn} has {allocated} allocated to it, more than the "
        "{cap} outstanding at the opening balance date.",
    },
)
OUTSTANDING_MISMATCH = rule(
    "OUTSTANDING_MISMATCH",
    summary="An item's outstanding or paid_status does not follow from its gross and its "
    "allocations, or an open item does not have 0 < outstanding ≤ gross.",
    section="11.8",
    messages={
        "open_item": "{where} has outstanding {outstanding} against gross {gross}; an open item "
        "must have 0 < outstanding ≤ gross.",
        "deleted": "{where}: it is deleted, so outstanding must be 0.00, not {outstanding}.",
        "settles_nothing": "{where}: a {type_name} settles nothing, so outstanding must be "
        "0.00, not {outstanding}.",
        "always_paid": "{where}: a {type_name} is always paid, not {paid_status}.",
        "source": "{where}: outstanding is {outstanding}, but gross {cap} less allocations "
        "{allocated} leaves {expected}.",
        "target": "{where}: outstanding is {outstanding}, but gross {cap} less {allocated} "
        "allocated to it leaves {expected}.",
        "paid_status": "{where}: paid_status is {paid_status}, but with {outstanding} of {cap} "
        "outstanding it must be {expected}.",
    },
)
ACCOUNT_BALANCE_MISMATCH = rule(
    "ACCOUNT_BALANCE_MISMATCH",
    summary="A customer or supplier states a balance other than what its items still have "
    "outstanding (in the account's currency).",
    section="11.8",
    messages="{noun} {account_ref} states a balance of {stated}{currency}, but its outstanding "
    "items add up to {expected}.",
)

# ============================================================================================
# §11.9 Warnings
# ============================================================================================

LEDGER_CONTROL_MISMATCH = rule(
    "LEDGER_CONTROL_MISMATCH",
    summary="A control account closes at another balance than the GBP value of what its ledger "
    "has outstanding, beyond 0.01 per foreign-currency item. A warning: a journal may post to "
    "a control account.",
    section="11.9",
    severity=WARNING,
    messages="The {role} account {nominal_code} closes at {control_balance}, but the open items "
    "say {noun} {open_items} (difference {difference}). A journal to the control account can "
    "explain this.",
)
ALLOCATION_DATE = rule(
    "ALLOCATION_DATE",
    summary="An allocation is dated before one of the two items it connects.",
    section="11.9",
    severity=WARNING,
    messages="The {source} allocates {amount} to the {target} on {date}, before the {late} "
    "dated {item_date}.",
)
DUE_DATE = rule(
    "DUE_DATE",
    summary="An item falls due before its own date.",
    section="11.9",
    severity=WARNING,
    messages="{where} is due {due_date}, before its date {date}.",
)

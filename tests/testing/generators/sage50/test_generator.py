"""Tests for the sage50-json generator: determinism, realism, validity and defect sidecars.

Validity is judged by ``gen_checks``, an independent re-computation of the rules of
docs/formats/sage50-json.md §11 that shares no code with the generator.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from migrationkit.testing.generators.sage50 import (
    DEFECT_KINDS,
    TRANSACTION_TYPES,
    GeneratorOptions,
    generate,
)


def _load_checks() -> ModuleType:
    # Loaded by path so the helper works whether or not the test folders are packages.
    path = Path(__file__).with_name("gen_checks.py")
    spec = importlib.util.spec_from_file_location("sage50_gen_checks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


checks = _load_checks()


def _generate(tmp_path: Path, name: str = "company.json", **kwargs: Any) -> tuple[Path, Any]:
    path = tmp_path / name
    summary = generate(path, GeneratorOptions(**kwargs))
    return path, summary


# -- determinism and summary -------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    a, _ = _generate(tmp_path, "a.json", seed=11, transactions=300)
    b, _ = _generate(tmp_path, "b.json", seed=11, transactions=300)
    c, _ = _generate(tmp_path, "c.json", seed=12, transactions=300)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_same_seed_gives_identical_sidecar(tmp_path: Path) -> None:
    kinds = tuple(DEFECT_KINDS)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    a, sa = _generate(tmp_path / "one", seed=5, transactions=300, defects=kinds)
    b, sb = _generate(tmp_path / "two", seed=5, transactions=300, defects=kinds)
    assert a.read_bytes() == b.read_bytes()
    assert sa.expected_path.read_bytes() == sb.expected_path.read_bytes()


@pytest.mark.parametrize("size", [0, 1, 7, 50, 333])
def test_exact_transaction_count_and_summary(tmp_path: Path, size: int) -> None:
    path, summary = _generate(tmp_path, seed=3, transactions=size)
    doc = checks.load(path)
    txns = doc["transactions"]
    assert len(txns) == size == summary.transactions
    assert summary.counts == {t: sum(1 for h in txns if h["type"] == t) for t in TRANSACTION_TYPES}
    assert summary.file_size == path.stat().st_size
    assert summary.expected_path is None
    if size:
        assert summary.first_date.isoformat() == txns[0]["date"]
        assert summary.last_date.isoformat() == max(h["date"] for h in txns)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_transaction_type_appears_at_300(tmp_path: Path, seed: int) -> None:
    _, summary = _generate(tmp_path, seed=seed, transactions=300)
    missing = [t for t in TRANSACTION_TYPES if summary.counts[t] == 0]
    assert not missing


# -- validity ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["full_history", "opening_balances"])
@pytest.mark.parametrize("size", [50, 300, 2000])
@pytest.mark.parametrize("seed", [1, 29])
def test_generated_files_satisfy_the_invariants(
    tmp_path: Path, mode: str, size: int, seed: int
) -> None:
    path, _ = _generate(tmp_path, seed=seed, transactions=size, history_mode=mode)
    findings = checks.check(checks.load(path), strict=True)
    assert findings == []
    assert checks.check_layout(path) == []


@pytest.mark.parametrize("seed", [1, 29])
def test_records_only_files_satisfy_the_invariants(tmp_path: Path, seed: int) -> None:
    path, summary = _generate(tmp_path, seed=seed, transactions=500, history_mode="records_only")
    doc = checks.load(path)
    assert checks.check(doc, strict=True) == []
    assert doc["opening_balances"] is None
    assert doc["transactions"] == []
    assert summary.transactions == 0
    assert all(acc["balance"] is None for acc in doc["nominal_accounts"])
    assert all(p["balance"] is None for p in doc["customers"] + doc["suppliers"])


def test_full_history_structure(tmp_path: Path) -> None:
    path, _ = _generate(tmp_path, seed=4, transactions=400)
    doc = checks.load(path)
    assert list(doc) == [
        "format",
        "format_version",
        "history_mode",
        "company",
        "nominal_accounts",
        "departments",
        "tax_codes",
        "bank_accounts",
        "customers",
        "suppliers",
        "products",
        "opening_balances",
        "transactions",
    ]
    ob = doc["opening_balances"]
    assert ob["trial_balance"] and ob["customer_open_items"] and ob["supplier_open_items"]
    assert all(h["date"] > ob["as_of"] for h in doc["transactions"])
    exported = doc["company"]["exported_at"][:10]
    assert max(h["date"] for h in doc["transactions"]) < exported
    # Some opening open items are settled by the migrated history, some still open.
    numbers = {i["header_number"] for i in ob["customer_open_items"] + ob["supplier_open_items"]}
    targets = {a["header_number"] for h in doc["transactions"] for a in h["allocations"]}
    assert numbers & targets


def test_opening_balances_mode_is_the_closing_state(tmp_path: Path) -> None:
    full, _ = _generate(tmp_path, "full.json", seed=8, transactions=600)
    closing, _ = _generate(
        tmp_path, "closing.json", seed=8, transactions=600, history_mode="opening_balances"
    )
    a, b = checks.load(full), checks.load(closing)
    assert b["transactions"] == []
    # The snapshot's trial balance is the full history's closing balances.
    closing_tb = {
        line["nominal_code"]: Decimal(line["debit"]) - Decimal(line["credit"])
        for line in b["opening_balances"]["trial_balance"]
    }
    stated = {acc["code"]: Decimal(acc["balance"]) for acc in a["nominal_accounts"]}
    assert {k: v for k, v in stated.items() if v} == closing_tb
    # Open items are what was still outstanding at the end, with the same contact balances.
    assert [c["balance"] for c in a["customers"]] == [c["balance"] for c in b["customers"]]
    assert [s["balance"] for s in a["suppliers"]] == [s["balance"] for s in b["suppliers"]]
    assert b["opening_balances"]["as_of"] >= max(h["date"] for h in a["transactions"])


# -- realism ------------------------------------------------------------------------------------


def test_master_data_is_a_realistic_uk_company(tmp_path: Path) -> None:
    path, _ = _generate(tmp_path, seed=2, transactions=300)
    doc = checks.load(path)
    company = doc["company"]
    assert company["base_currency"] == "GBP"
    assert company["vat_scheme"] == "standard"
    assert company["vat_number"].startswith("GB")
    roles = {a["control_role"]: a["code"] for a in doc["nominal_accounts"] if a["control_role"]}
    assert roles["debtors_control"] == "1100"
    assert roles["creditors_control"] == "2100"
    assert roles["exchange_variance"] == "7906"
    assert {t["code"] for t in doc["tax_codes"]} >= {
        "T0",
        "T1",
        "T2",
        "T4",
        "T5",
        "T7",
        "T8",
        "T9",
        "T20",
        "T22",
        "T23",
        "T24",
    }
    no_tax = {t["code"] for t in doc["tax_codes"] if t["ec_purchases"] or t["reverse_charge"]}
    assert no_tax == {"T7", "T8", "T20", "T23", "T24"}
    assert {b["bank_type"] for b in doc["bank_accounts"]} == {"current", "cash", "credit_card"}
    assert "EUR" in {b["currency"] for b in doc["bank_accounts"]}
    parties = doc["customers"] + doc["suppliers"]
    assert {p["currency"] for p in doc["customers"]} == {"GBP", "EUR", "USD"}
    assert {p["currency"] for p in doc["suppliers"]} >= {"GBP", "EUR", "USD"}
    assert any(not p["name"].isascii() for p in doc["customers"])
    assert any(not p["name"].isascii() for p in doc["suppliers"])
    assert any(ch in "".join(p["name"] for p in parties) for ch in "ŷâ")  # Welsh spelling
    supplier_refs = {s["account_ref"] for s in doc["suppliers"]}
    assert all(p["supplier_ref"] in supplier_refs for p in doc["products"] if p["supplier_ref"])
    assert len(doc["departments"]) >= 3
    text = path.read_text(encoding="utf-8")
    assert "Café" in text or "ö" in text or "ø" in text


def test_audit_trail_tells_realistic_stories(tmp_path: Path) -> None:
    path, _ = _generate(tmp_path, seed=6, transactions=2000)
    doc = checks.load(path)
    txns = doc["transactions"]
    by_number = {h["header_number"]: h for h in txns}
    status = Counter((h["type"], h["paid_status"]) for h in txns if not h["deleted"])
    # Unpaid and part-paid invoices remain at the end; most are settled.
    assert status[("SI", "unpaid")] and status[("SI", "part")] and status[("PI", "unpaid")]
    assert status[("SI", "paid")] > status[("SI", "unpaid")]
    # Deleted headers post nothing and nothing points at them.
    deleted = [h for h in txns if h["deleted"]]
    assert deleted
    targets = {a["header_number"] for h in txns for a in h["allocations"]}
    for h in deleted:
        assert h["outstanding"] == "0.00" and h["paid_status"] == "paid"
        assert h["allocations"] == [] and h["header_number"] not in targets
    # Foreign invoices settled at another rate post exchange differences to 7906.
    foreign = [h for h in txns if h["currency"] != "GBP"]
    assert {h["currency"] for h in foreign} == {"EUR", "USD"}
    fx = [h for h in txns if h["type"] in ("JD", "JC") and h["account_ref"] == "7906"]
    assert fx
    settled_rates = {
        (h["exchange_rate"], by_number[a["header_number"]]["exchange_rate"])
        for h in foreign
        if h["type"] in ("SR", "PP")
        for a in h["allocations"]
        if a["header_number"] in by_number
    }
    assert any(x != y for x, y in settled_rates)
    # Payments on account allocated later, refunds with allocations pointing at them.
    assert any(
        a["date"] > h["date"] for h in txns if h["type"] in ("SA", "PA") for a in h["allocations"]
    )
    assert any(by_number[n]["type"] == "SP" for n in targets if n in by_number)
    assert any(by_number[n]["type"] == "PR" for n in targets if n in by_number)
    assert any(len(h["allocations"]) > 1 for h in txns if h["type"] == "SR")
    # Journals: multi-line groups, and bank transfers as a JC on one bank and a JD on another.
    banks = {b["nominal_code"] for b in doc["bank_accounts"]}
    groups: dict[int, list[dict[str, Any]]] = {}
    for h in txns:
        if h["journal_group"] is not None:
            groups.setdefault(h["journal_group"], []).append(h)
    assert any(len(g) > 2 for g in groups.values())
    assert any(len(g) == 2 and {h["account_ref"] for h in g} <= banks for g in groups.values())
    assert {h["account_ref"] for h in txns if h["type"] in ("JD", "JC")} >= {
        "8000",
        "2109",
        "2200",
        "2201",
        "2202",
        "7000",
    }
    # Realistic text: invoice lines, references and payment methods.
    assert any(h["details"].split(" x ")[0].isdigit() for h in txns if h["type"] == "SI")
    assert all(h["reference"].startswith("INV-") for h in txns if h["type"] == "SI")
    assert {h["reference"].split()[0] for h in txns if h["type"] in ("SR", "PP", "BP")} >= {
        "BACS",
        "DD",
    }


# -- defects -----------------------------------------------------------------------------------


def _check_sidecar(path: Path, sidecar_path: Path, kinds: tuple[str, ...], seed: int) -> None:
    doc = checks.load(path)
    sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
    assert sidecar["format"] == "sage50-json-expected-findings"
    assert sidecar["version"] == "1.0"
    assert sidecar["data_file"] == path.name
    assert sidecar["seed"] == seed
    assert sidecar["expected_codes"] == sorted({DEFECT_KINDS[k] for k in kinds})
    assert [d["kind"] for d in sidecar["defects"]] == list(kinds)
    findings = checks.check(doc)
    allowed = set(sidecar["expected_codes"])
    for defect in sidecar["defects"]:
        assert defect["code"] == DEFECT_KINDS[defect["kind"]]
        assert defect["severity"] == "error"
        assert set(defect) >= {
            "kind",
            "code",
            "severity",
            "pointer",
            "header_number",
            "detail",
            "may_also_report",
        }
        checks.resolve_pointer(doc, defect["pointer"])  # raises when it does not exist
        hits = [
            f
            for f in findings
            if f.code == defect["code"]
            and (f.header_number == defect["header_number"] or f.pointer == defect["pointer"])
        ]
        assert hits, defect
        allowed.update(defect["may_also_report"])
    unexpected = [f for f in checks.errors(findings) if f.code not in allowed]
    assert unexpected == []


@pytest.mark.parametrize("kind", sorted(DEFECT_KINDS))
def test_each_defect_kind_has_its_sidecar_entry(tmp_path: Path, kind: str) -> None:
    path, summary = _generate(tmp_path, seed=21, transactions=300, defects=(kind,))
    assert summary.expected_path == path.with_name(path.name + ".expected.json")
    _check_sidecar(path, summary.expected_path, (kind,), 21)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_all_defects_together(tmp_path: Path, seed: int) -> None:
    kinds = tuple(DEFECT_KINDS)
    path, summary = _generate(tmp_path, seed=seed, transactions=400, defects=kinds)
    _check_sidecar(path, summary.expected_path, kinds, seed)
    sidecar = json.loads(summary.expected_path.read_text(encoding="utf-8"))
    headers = [d["header_number"] for d in sidecar["defects"]]
    assert len(set(headers)) == len(headers)


def test_defects_only_touch_their_own_lines(tmp_path: Path) -> None:
    clean, _ = _generate(tmp_path, "clean.json", seed=9, transactions=300)
    dirty, summary = _generate(
        tmp_path, "dirty.json", seed=9, transactions=300, defects=tuple(DEFECT_KINDS)
    )
    a = clean.read_text(encoding="utf-8").splitlines()
    b = dirty.read_text(encoding="utf-8").splitlines()
    changed = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    assert len(changed) == len(DEFECT_KINDS)
    sidecar = json.loads(summary.expected_path.read_text(encoding="utf-8"))
    float_pointer = next(d["pointer"] for d in sidecar["defects"] if d["kind"] == "float_money")
    value = checks.resolve_pointer(checks.load(dirty), float_pointer)
    assert isinstance(value, Decimal)  # a JSON number, parsed without float loss


# -- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"history_mode": "everything"}, "history_mode"),
        ({"transactions": -1}, "transactions"),
        ({"defects": ("no_such_defect",)}, "unknown defect kinds"),
        ({"defects": ("gross_mismatch",), "history_mode": "opening_balances"}, "full_history"),
        ({"customers": 2}, "customers"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GeneratorOptions(**kwargs)


def test_sizes_and_span_can_be_chosen(tmp_path: Path) -> None:
    path, summary = _generate(
        tmp_path, seed=1, transactions=150, customers=40, suppliers=25, months=6
    )
    doc = checks.load(path)
    assert len(doc["customers"]) == 40
    assert len(doc["suppliers"]) == 25
    assert checks.check(doc, strict=True) == []
    assert summary.last_date.isoformat() <= "2023-09-30"

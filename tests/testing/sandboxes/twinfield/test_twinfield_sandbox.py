"""The Twinfield sandbox keeps Twinfield's rules: per-element answers, 25 children, 500 lines,
the delete rule, dimensions in use, tokens, credits and the SOAP envelope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from xml.sax.saxutils import escape

import pytest
import requests
from click.testing import CliRunner
from lxml import etree

from migrationkit.cli import _add_plugin_commands, cli
from migrationkit.core.plugins import PluginRegistry
from migrationkit.testing.sandboxes.server import SandboxServer
from migrationkit.testing.sandboxes.twinfield.app import (
    AUTH_PREFIX,
    PROCESS_XML_PATH,
    TwinfieldSandbox,
    start_server,
)

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
TW = "http://www.twinfield.com/"


@pytest.fixture
def running() -> Iterator[tuple[TwinfieldSandbox, SandboxServer]]:
    app = TwinfieldSandbox(rate_scale=200.0)
    server = start_server(app)
    try:
        yield app, server
    finally:
        server.stop()


def envelope(
    xml: str, token: str, company: str | None = "SANDBOX01", version: str = SOAP11
) -> bytes:
    header = f"<tw:AccessToken>{token}</tw:AccessToken>"
    if company:
        header += f"<tw:CompanyCode>{company}</tw:CompanyCode>"
    return (
        f'<soap:Envelope xmlns:soap="{version}" xmlns:tw="{TW}"><soap:Header><tw:Header>'
        f"{header}</tw:Header></soap:Header><soap:Body><tw:ProcessXmlString><tw:xmlRequest>"
        f"{escape(xml)}</tw:xmlRequest></tw:ProcessXmlString></soap:Body></soap:Envelope>"
    ).encode()


def call(
    server: SandboxServer, xml: str, token: str, **options: Any
) -> tuple[int, etree._Element | str]:
    """POST one ProcessXmlString; the answered document, or the fault's words."""
    version = options.get("version", SOAP11)
    content = "text/xml" if version == SOAP11 else "application/soap+xml"
    answer = requests.post(
        server.url + PROCESS_XML_PATH,
        data=envelope(xml, token, **options),
        headers={"Content-Type": content, "SOAPAction": f"{TW}ProcessXmlString"},
        timeout=10,
    )
    root = etree.fromstring(answer.content)
    body = root.find(f"{{{version}}}Body")
    assert body is not None
    if answer.status_code != 200:
        fault = body.find(f"{{{version}}}Fault")
        assert fault is not None
        words = fault.findtext("faultstring") or "".join(fault.itertext())
        return answer.status_code, words
    result = body.find(f"{{{TW}}}ProcessXmlStringResponse/{{{TW}}}ProcessXmlStringResult")
    assert result is not None and result.text
    return answer.status_code, etree.fromstring(result.text.encode())


def document(server: SandboxServer, app: TwinfieldSandbox, xml: str) -> etree._Element:
    status, answer = call(server, xml, app.token)
    assert status == 200 and isinstance(answer, etree._Element), answer
    return answer


def dimension(dim_type: str, code: str, name: str = "A name", status: str = "") -> str:
    attr = f' status="{status}"' if status else ""
    return (
        f"<dimension{attr}><office>SANDBOX01</office><type>{dim_type}</type><code>{code}</code>"
        f"<name>{name}</name></dimension>"
    )


def line(kind: str, dim1: str, side: str, value: str, **extra: str) -> str:
    more = "".join(f"<{k}>{v}</{k}>" for k, v in extra.items())
    return (
        f'<line type="{kind}"><dim1>{dim1}</dim1><debitcredit>{side}</debitcredit>'
        f"<value>{value}</value>{more}</line>"
    )


def transaction(code: str, lines: str, destiny: str = "temporary", number: str = "") -> str:
    number_xml = f"<number>{number}</number>" if number else ""
    return (
        f'<transaction destiny="{destiny}"><header><office>SANDBOX01</office><code>{code}</code>'
        f"{number_xml}<currency>GBP</currency><date>20240501</date><period>2024/05</period>"
        f"</header><lines>{lines}</lines></transaction>"
    )


def journal(value: str = "10.00", other: str = "10.00") -> str:
    return transaction(
        "MEMO", line("detail", "4000", "credit", value) + line("detail", "1100", "debit", other)
    )


@pytest.fixture
def chart(
    running: tuple[TwinfieldSandbox, SandboxServer],
) -> tuple[TwinfieldSandbox, SandboxServer]:
    app, server = running
    answer = document(
        server, app, f"<dimensions>{dimension('PNL', '4000', 'Sales')}"
        f"{dimension('DEB', 'ACME', 'Acme')}{dimension('KPL', 'K1', 'North')}</dimensions>"
    )  # fmt: skip
    assert [d.get("result") for d in answer] == ["1", "1", "1"]
    return app, server


def test_each_element_is_answered_on_its_own(
    chart: tuple[TwinfieldSandbox, SandboxServer],
) -> None:
    app, server = chart
    answer = document(
        server,
        app,
        f"<transactions>{journal()}{journal('10.00', '9.99')}{journal()}</transactions>",
    )
    assert [t.get("result") for t in answer] == ["1", "0", "1"]
    refused = answer[1]
    assert refused.find("lines").get("msgtype") == "error"  # type: ignore[union-attr]
    assert "not balanced; the difference is -0.01" in refused.find("lines").get("msg")  # type: ignore[union-attr, operator]
    numbers = [t.findtext("header/number") for t in answer if t.get("result") == "1"]
    assert numbers == ["202400001", "202400002"]
    assert len(app.office.transactions) == 2


def test_more_than_25_children_are_refused_whole(
    running: tuple[TwinfieldSandbox, SandboxServer],
) -> None:
    app, server = running
    many = "".join(dimension("DEB", f"C{n:03d}") for n in range(26))
    answer = document(server, app, f"<dimensions>{many}</dimensions>")
    assert answer.get("result") == "0" and "at most 25" in (answer.get("msg") or "")
    assert len(answer) == 0
    assert not [k for k in app.office.dimensions if k[0] == "DEB"]
    answer = document(
        server, app, f"<dimensions>{many[: many.index('<dimension>', 1) * 25]}</dimensions>"
    )
    assert len(answer) == 25 and answer.get("result") == "1"


def test_a_transaction_takes_at_most_500_lines(
    chart: tuple[TwinfieldSandbox, SandboxServer],
) -> None:
    app, server = chart
    lines = (
        line("detail", "1100", "debit", "499.00") + line("detail", "4000", "credit", "1.00") * 499
    )
    assert len(app.office.transactions) == 0
    ok = document(server, app, transaction("MEMO", lines))
    assert ok.get("result") == "1"
    too_many = lines + line("detail", "4000", "credit", "0.00")
    refused = document(server, app, transaction("MEMO", too_many))
    assert refused.get("result") == "0"
    assert "at most 500 lines; this one has 501" in (refused.find("lines").get("msg") or "")  # type: ignore[union-attr]


def test_only_provisional_transactions_are_deleted_and_only_with_a_reason(
    chart: tuple[TwinfieldSandbox, SandboxServer],
) -> None:
    app, server = chart
    number = document(server, app, journal()).findtext("header/number")

    def delete(reason: str) -> etree._Element:
        return document(
            server,
            app,
            f'<transaction action="delete" reason="{reason}"><office>SANDBOX01</office>'
            f"<code>MEMO</code><number>{number}</number></transaction>",
        )

    assert "A reason is mandatory" in (delete("").get("msg") or "")
    final = document(
        server, app, transaction("MEMO", "", destiny="final", number=str(number)).replace(
            "<lines></lines>",
            "<lines>" + line("detail", "4000", "credit", "10.00")
            + line("detail", "1100", "debit", "10.00") + "</lines>",
        ),
    )  # fmt: skip
    assert final.get("location") == "final"
    refused = delete("rollback")
    assert refused.get("result") == "0"
    assert "Only provisional transactions can be deleted" in (
        refused.find("number").get("msg") or ""  # type: ignore[union-attr]
    )
    changed = document(server, app, transaction("MEMO", "", number=str(number)))
    assert "is final and cannot be changed" in (changed.find("header/number").get("msg") or "")  # type: ignore[union-attr]
    other = document(server, app, journal()).findtext("header/number")
    number = other
    assert delete("rollback").get("result") == "1"
    assert app.office.deleted[-1]["ReasonForDeletion"] == "rollback"
    assert ("MEMO", other) not in app.office.transactions


def test_a_dimension_in_use_is_hidden_not_deleted_and_takes_no_new_postings(
    chart: tuple[TwinfieldSandbox, SandboxServer],
) -> None:
    app, server = chart
    document(server, app, journal())
    refused = document(server, app, dimension("PNL", "4000", status="deleted"))
    assert refused.get("result") == "0" and "in use" in (refused.find("code").get("msg") or "")  # type: ignore[union-attr]
    hidden = document(server, app, dimension("PNL", "4000", status="hide"))
    assert hidden.get("status") == "hide" and hidden.findtext("inuse") == "true"
    answer = document(server, app, journal())
    assert "4000 is hidden" in (answer.find("lines/line/dim1").get("msg") or "")  # type: ignore[union-attr]
    assert document(server, app, dimension("KPL", "K1", status="deleted")).get("result") == "1"


def test_control_accounts_name_a_customer_and_day_books_their_own_vat_codes(
    chart: tuple[TwinfieldSandbox, SandboxServer],
) -> None:
    app, server = chart
    no_customer = transaction(
        "MEMO", line("detail", "1300", "debit", "5.00") + line("detail", "4000", "credit", "5.00")
    )
    answer = document(server, app, no_customer)
    assert "needs a customer (DEB) on level 2" in (answer.find("lines/line").get("msg") or "")  # type: ignore[union-attr]
    sale = transaction(
        "VRK",
        line("total", "1300", "debit", "12.00", dim2="ACME")
        + line("detail", "4000", "credit", "10.00", vatcode="IH", vatvalue="2.00")
        + line("vat", "1510", "credit", "2.00", vatcode="IH"),
    )
    answer = document(server, app, sale)
    assert "IH is a purchase code" in etree.tostring(answer, encoding="unicode")
    good = sale.replace("IH", "VH").replace("1510", "1500")
    assert document(server, app, good).get("result") == "1"
    wrong_vat = good.replace("<value>2.00</value><vatcode>VH", "<value>2.01</value><vatcode>VH")
    wrong_vat = wrong_vat.replace("<value>12.00</value>", "<value>12.01</value>")
    answer = document(server, app, wrong_vat)
    assert "the detail lines make it 2.00" in (answer.find("lines").get("msg") or "")  # type: ignore[union-attr]
    balanced = document(
        server,
        app,
        wrong_vat.replace('destiny="temporary"', 'destiny="temporary" autobalancevat="true"'),
    )
    assert balanced.get("result") == "1", "autobalancevat closes a gap of up to 2 cents"


def test_browse_answers_the_lines_of_its_code_with_their_keys(
    chart: tuple[TwinfieldSandbox, SandboxServer],
) -> None:
    app, server = chart
    sale = transaction(
        "VRK",
        line("total", "1300", "debit", "12.00", dim2="ACME")
        + line("detail", "4000", "credit", "10.00", vatcode="VH", vatvalue="2.00", dim2="K1")
        + line("vat", "1500", "credit", "2.00", vatcode="VH"),
    ).replace("</period>", "</period><invoicenumber>INV-1</invoicenumber>")
    assert document(server, app, sale).get("result") == "1"
    columns = (
        '<columns code="100"><column><field>fin.trs.line.invnumber</field></column>'
        "<column><field>fin.trs.line.valuesigned</field></column>"
        "<column><field>fin.trs.line.openbasevaluesigned</field></column></columns>"
    )
    answer = document(server, app, columns)
    (row,) = answer.iterfind("tr")
    cells = {td.get("field"): td.text for td in row.iterfind("td")}
    assert cells == {
        "fin.trs.line.invnumber": "INV-1",
        "fin.trs.line.valuesigned": "12.00",
        "fin.trs.line.openbasevaluesigned": "12.00",
    }
    assert [row.findtext(f"key/{k}") for k in ("code", "number", "line")] == [
        "VRK",
        "202400001",
        "1",
    ]
    cost_centres = document(server, app, columns.replace('"100"', '"900"'))
    assert len(cost_centres.findall("tr")) == 1
    unknown = document(server, app, columns.replace("invnumber", "nosuchfield"))
    assert "is not a column of browse code 100" in (unknown.get("msg") or "")


def test_the_envelope_is_soap_with_the_twinfield_header(
    running: tuple[TwinfieldSandbox, SandboxServer],
) -> None:
    app, server = running
    status, answer = call(server, "<list><type>offices</type></list>", app.token, version=SOAP12)
    assert status == 200 and isinstance(answer, etree._Element)
    assert [o.text for o in answer] == ["SANDBOX01"]
    status, words = call(
        server, "<read><type>office</type><code>SANDBOX01</code></read>", app.token, company=None
    )
    assert status == 200 and isinstance(words, etree._Element)
    assert "Company ontbreekt in request header." in (words.get("msg") or "")
    broken = requests.post(server.url + PROCESS_XML_PATH, data=b"<not-soap/>", timeout=5)
    assert broken.status_code == 500 and b"not a SOAP envelope" in broken.content
    status, words = call(server, "<read/>", app.token, company="NOPE")
    assert status == 500 and "Office NOPE is not available" in str(words)


def test_the_real_token_lifecycle(tmp_path: Any) -> None:
    app = TwinfieldSandbox(accept_any_token=False, rate_scale=200.0)
    server = start_server(app)
    try:
        status, words = call(server, "<list><type>offices</type></list>", "made-up")
        assert status == 500 and words == "Access denied. Token invalid (code 354)"
        status, _answer = call(server, "<list><type>offices</type></list>", app.token)
        assert status == 200
        login = server.url + AUTH_PREFIX
        valid = requests.get(
            f"{login}/connect/accesstokenvalidation", params={"token": app.token}, timeout=5
        )
        assert valid.json()["twf.clusterUrl"] == server.url
        assert (
            requests.get(
                f"{login}/connect/accesstokenvalidation", params={"token": "x"}, timeout=5
            ).status_code
            == 400
        )
        no_nonce = requests.get(
            f"{login}/connect/authorize",
            params={"redirect_uri": "http://localhost/cb"},
            allow_redirects=False,
            timeout=5,
        )
        assert no_nonce.status_code == 400
        app.expire(app.token)
        status, words = call(server, "<list><type>offices</type></list>", app.token)
        assert status == 500 and "code 354" in str(words)
        refresh = app.issue_refresh_token()
        answer = requests.post(
            f"{login}/connect/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh},
            auth=(app.client_id, app.client_secret),
            timeout=5,
        )
        fresh = answer.json()
        assert fresh["refresh_token"] == refresh, "Twinfield does not rotate refresh tokens"
        assert call(server, "<list><type>offices</type></list>", fresh["access_token"])[0] == 200
        wrong = requests.post(
            f"{login}/connect/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh},
            auth=("x", "y"),
            timeout=5,
        )
        assert wrong.status_code == 401
    finally:
        server.stop()


def test_credits_beyond_the_minute_are_answered_429_in_whole_seconds() -> None:
    app = TwinfieldSandbox(credits_per_minute=5, rate_scale=1.0)
    server = start_server(app)
    try:
        answers = [
            requests.post(
                server.url + PROCESS_XML_PATH,
                data=envelope("<list><type>offices</type></list>", app.token),
                headers={"Content-Type": "text/xml"},
                timeout=5,
            )
            for _ in range(7)
        ]
        assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
        assert answers[-1].headers["Retry-After"].isdigit()
        assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
        assert app.credits_spent == 5
    finally:
        server.stop()


def _run_command(monkeypatch: pytest.MonkeyPatch, args: list[str], check: Any) -> str:
    """Run the command; instead of serving until Ctrl-C, serve in a thread while ``check`` runs."""

    def serve_while_checking(server: SandboxServer) -> None:
        server.start()
        check(server)

    monkeypatch.setattr(SandboxServer, "serve_forever", serve_while_checking)
    _add_plugin_commands(PluginRegistry())
    result = CliRunner().invoke(cli, ["sandbox", "twinfield", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_command_takes_port_token_office_and_the_real_token_lifecycle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, int] = {}

    def check(server: SandboxServer) -> None:
        for token in ("the-token", "another"):
            status, _answer = call(server, "<list><type>offices</type></list>", token, company=None)
            seen[token] = status
        status, answer = call(
            server, "<list><type>offices</type></list>", "the-token", company=None
        )
        assert isinstance(answer, etree._Element) and [o.text for o in answer] == ["C-42"]

    args = ["--port", "0", "--token", "the-token", "--office", "C-42", "--rate-scale", "10"]
    output = _run_command(monkeypatch, args, check)
    assert seen == {"the-token": 200, "another": 500}
    lines = output.splitlines()
    assert lines[0].startswith("Twinfield sandbox at http://127.0.0.1:")
    assert lines[0].endswith(PROCESS_XML_PATH)
    assert lines[1].split() == ["bearer:", "the-token"]
    assert lines[2].split() == ["office:", "C-42"]
    assert "rate_scale = 10" in output

    _run_command(monkeypatch, ["--port", "0", "--office", "C-42"], check)
    assert seen == {"the-token": 200, "another": 200}, "no --token: any token"

    def only_issued(server: SandboxServer) -> None:
        status, _words = call(server, "<list><type>offices</type></list>", "made-up")
        seen["made-up"] = status

    output = _run_command(monkeypatch, ["--port", "0", "--real-tokens"], only_issued)
    assert seen["made-up"] == 500 and "real: issued tokens" in output

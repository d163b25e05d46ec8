"""The ProcessXml client's table of answers: what is resent, what is looked up first, what
renews the token, and what is Twinfield's refusal."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from lxml import etree

from migrationkit import AuthError
from migrationkit.connectors.twinfield.client import (
    AmbiguousWrite,
    TwinfieldClient,
)
from migrationkit.handlers import may_have_landed

URL = "http://twinfield.test/webservices/processxml.asmx"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def answer(document: str) -> str:
    escaped = document.replace("&", "&amp;").replace("<", "&lt;")
    return (
        f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body><ProcessXmlStringResponse '
        f'xmlns="http://www.twinfield.com/"><ProcessXmlStringResult>{escaped}'
        "</ProcessXmlStringResult></ProcessXmlStringResponse></soap:Body></soap:Envelope>"
    )


def fault(words: str) -> str:
    return (
        f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body><soap:Fault><faultcode>soap:Server'
        f"</faultcode><faultstring>{words}</faultstring></soap:Fault></soap:Body></soap:Envelope>"
    )


class Tokens:
    def __init__(self) -> None:
        self.current = "first"
        self.refreshed: list[str] = []

    def access_token(self) -> str:
        return self.current

    def refresh(self, rejected: str) -> str:
        self.refreshed.append(rejected)
        self.current = "second"
        return self.current


def client(tokens: Any | None = None) -> TwinfieldClient:
    built = TwinfieldClient.build(
        tokens or Tokens(), lambda token: "http://twinfield.test", office="NLA001", rate_scale=1e4
    )
    built.api.sleep = lambda seconds: None
    return built


WRITE = "<transactions><transaction/></transactions>"
EXPIRED = "Access denied. Token invalid (code 354)"


@responses.activate
def test_a_write_answered_502_is_not_resent_but_may_have_landed() -> None:
    responses.add(responses.POST, URL, status=502, body="Bad Gateway")
    with pytest.raises(AmbiguousWrite) as caught:
        client().process(etree.fromstring(WRITE))
    assert may_have_landed(caught.value)
    assert len(responses.calls) == 1, "never resent blindly"


@responses.activate
def test_a_query_answered_502_and_a_write_answered_503_are_resent() -> None:
    responses.add(responses.POST, URL, status=502, body="Bad Gateway")
    responses.add(responses.POST, URL, body=answer('<offices result="1"/>'))
    found = client().process(etree.fromstring("<list><type>offices</type></list>"))
    assert found.tag == "offices" and len(responses.calls) == 2
    responses.add(responses.POST, URL, status=503, body="Service Unavailable")
    responses.add(responses.POST, URL, body=answer('<transactions result="1"/>'))
    # 503 says the call was not taken: a write is sent again.
    responses.calls.reset()  # type: ignore[no-untyped-call]
    done = client().process(etree.fromstring(WRITE))
    assert done.tag == "transactions"


@responses.activate
def test_a_dimension_answered_502_is_simply_resent_by_its_code() -> None:
    responses.add(responses.POST, URL, status=502, body="Bad Gateway")
    responses.add(responses.POST, URL, body=answer('<dimensions result="1"/>'))
    found = client().process(etree.fromstring("<dimensions/>"), repeatable=True)
    assert found.tag == "dimensions" and len(responses.calls) == 2


@responses.activate
def test_token_invalid_renews_once_and_resends_with_the_new_token() -> None:
    tokens = Tokens()
    responses.add(
        responses.POST, URL, status=500, body=fault("Access denied. Token invalid (code 354)")
    )
    responses.add(responses.POST, URL, body=answer('<offices result="1"/>'))
    client(tokens).process(etree.fromstring("<list><type>offices</type></list>"))
    assert tokens.refreshed == ["first"]
    assert b"<tw:AccessToken>second</tw:AccessToken>" in responses.calls[1].request.body
    responses.add(
        responses.POST, URL, status=500, body=fault("Access denied. Token invalid (code 354)")
    )
    responses.add(
        responses.POST, URL, status=500, body=fault("Access denied. Token invalid (code 354)")
    )
    with pytest.raises(AuthError, match="code 354"):
        client(Tokens()).process(etree.fromstring("<list><type>offices</type></list>"))


@responses.activate
def test_another_fault_is_twinfields_refusal_in_its_words() -> None:
    responses.add(
        responses.POST, URL, status=500, body=fault("Company ontbreekt in request header.")
    )
    with pytest.raises(Exception, match="Company ontbreekt"):
        client().process(etree.fromstring(WRITE))
    assert len(responses.calls) == 1

"""The ``sage-accounting`` connector's hook methods (source and target).

A load sends one request per record (Sage has no batch endpoints), several at a time within
the rate limit. A create whose connection broke after it was sent may have landed: the record
is looked up by the key it carries (source number, stamp, ``source_guid``) and sent again only
when it is not there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from migrationkit.core.contract import (
    Found,
    LoadRequest,
    LoadResult,
    Operation,
    Problem,
    References,
    RemovalRequest,
    RemovalResult,
    RunContext,
)
from migrationkit.core.errors import ConfigError, MappingError, RemoteAPIError
from migrationkit.core.hookspecs import hookimpl
from migrationkit.core.model import Record
from migrationkit.http import ConnectionLost, StaticToken, TokenProvider

from .auth import LOGIN_HINT, oauth_session
from .business import Business
from .client import AmbiguousCreate, SageClient
from .documents import POSTING_HANDLERS
from .options import SageAccountingOptions
from .plugin import CAPABILITIES
from .resources import MASTER_HANDLERS, Context, Handler, not_allowed

__all__ = ["SageAccountingConnector", "may_have_landed"]

_LOOKUPS = 3
"""Look-then-resend rounds for a create whose outcome is unknown, before the run stops."""


def may_have_landed(error: Exception) -> bool:
    """Whether a failed create may have been saved by Sage all the same (not a failed read)."""
    return isinstance(error, ConnectionLost | AmbiguousCreate)


class SageAccountingConnector:
    """One Sage Accounting business, read as a source or written as a target."""

    def __init__(self, options: SageAccountingOptions) -> None:
        auth: TokenProvider = (
            StaticToken(options.access_token, system="Sage Accounting", login_hint=LOGIN_HINT)
            if options.access_token
            else oauth_session(
                options.client_id, options.client_secret, options.token_store, options.token_url
            )
        )
        self.client = SageClient.build(
            options.base_url,
            auth,
            rate_limit=options.rate_limit,
            rate_scale=options.rate_scale,
            timeout=options.timeout,
        )
        self.business = Business(self.client, options.location)
        self.context = Context(self.client, self.business, options)
        self.handlers: dict[str, Handler] = {
            cls.entity: cls(self.context) for cls in (*MASTER_HANDLERS, *POSTING_HANDLERS)
        }
        self.workers = options.workers

    def handler(self, entity: str) -> Handler:
        try:
            return self.handlers[entity]
        except KeyError:
            raise ConfigError(f"sage-accounting does not handle {entity}") from None

    # -- both sides ------------------------------------------------------------------------------

    @hookimpl
    def migrationkit_identity(self) -> str:
        return f"sage-accounting:{self.business.id}"

    @hookimpl
    def migrationkit_begin(self, run: RunContext) -> bool:
        self.context.preserve_ids = run.preserve_ids
        # Another run (or a person) may have changed the business since: read it afresh.
        self.business.forget()
        return True

    @hookimpl
    def migrationkit_finish(self, run: RunContext, success: bool) -> bool:
        return True

    # -- source ----------------------------------------------------------------------------------

    @hookimpl
    def migrationkit_extract(self, entity: str, since: dt.datetime | None) -> Iterator[Record]:
        return self.handler(entity).extract(since)

    @hookimpl
    def migrationkit_extract_deleted(self, entity: str, since: dt.datetime | None) -> Iterator[str]:
        return self.handler(entity).deleted(since)

    # -- target ----------------------------------------------------------------------------------

    @hookimpl
    def migrationkit_check_record(
        self, entity: str, record: Record, refs: References
    ) -> Sequence[Problem]:
        try:
            return self.handler(entity).check(record, refs)
        except MappingError as exc:
            return [Problem(code="NOT_EXPRESSIBLE", message=str(exc))]

    @hookimpl
    def migrationkit_load(
        self, entity: str, requests: Sequence[LoadRequest], refs: References
    ) -> Sequence[LoadResult]:
        handler = self.handler(entity)
        if len(requests) == 1 or self.workers == 1:
            return [self._write(handler, request, refs) for request in requests]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(requests))) as pool:
            futures = [pool.submit(self._write, handler, r, refs) for r in requests]
            return [future.result() for future in futures]

    def _write(self, handler: Handler, request: LoadRequest, refs: References) -> LoadResult:
        try:
            if request.operation is Operation.UPDATE:
                return handler.update(request, refs)
            try:
                return handler.create(request, refs)
            except (ConnectionLost, RemoteAPIError) as exc:
                if not may_have_landed(exc):
                    raise
                return self._look_then_resend(handler, request, refs)
        except MappingError as exc:
            return LoadResult.failed("NOT_EXPRESSIBLE", str(exc))

    def _look_then_resend(
        self, handler: Handler, request: LoadRequest, refs: References
    ) -> LoadResult:
        """Sage may have created the record although its answer was lost: look before resending.

        A create whose connection broke, or that Sage answered with 500, 502 or 504 (which a
        gateway may send after the write landed), is looked up by the key it carries, and sent
        again only when it is not there. When that keeps failing, the error propagates: the
        run stops, and resuming it looks again.
        """
        api = self.client.api
        attempt = 0
        while True:
            api.sleep(api.backoff * 2**attempt)
            found = handler.find(request, refs)
            if found is not None:
                note = "Sage's answer was lost after it saved the record; found, not sent twice"
                return LoadResult(ok=True, target_id=found, warnings=(note,))
            try:
                return handler.create(request, refs)
            except (ConnectionLost, RemoteAPIError) as exc:
                attempt += 1
                if not may_have_landed(exc) or attempt >= _LOOKUPS:
                    raise

    @hookimpl
    def migrationkit_find_existing(
        self, entity: str, request: LoadRequest, refs: References
    ) -> Found:
        try:
            return Found(target_id=self.handler(entity).find(request, refs))
        except MappingError:
            # A reference that never resolved means the write cannot have been sent.
            return Found(target_id=None)

    @hookimpl
    def migrationkit_remove(
        self, entity: str, requests: Sequence[RemovalRequest]
    ) -> Sequence[RemovalResult]:
        handler = self.handler(entity)
        declared = CAPABILITIES[entity].removal
        return [
            handler.remove(request)
            if declared & set(request.actions)
            else not_allowed(request, declared)
            for request in requests
        ]

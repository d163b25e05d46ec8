"""A handoff bundle: one file, a plaintext header, then a client's data sealed under a code.

::

    MIGRATIONKIT-HANDOFF\\n
    {"cipher": "AES-256-GCM", "format": 1, "kdf": {...}, "nonce": "..."}\\n
    ciphertext (AES-256-GCM of a zip archive; its last 16 bytes are the tag)

The header holds only what opening the bundle needs: the format, the key derivation's name,
parameters and salt, and the cipher's nonce; no client data. The key is derived from the
one-time code by Argon2id (scrypt where the OpenSSL under ``cryptography`` lacks Argon2id), and
the magic line and the header are the cipher's associated data: changing a byte of either, or
of the ciphertext, makes the bundle refuse to open. Everything else (which client, the offer's
id and expiry, who made it, the target's connector and package) is sealed inside.

The code is 12 symbols of Crockford's base32 (``0-9``, ``A-Z`` without ``I L O U``), shown in
three groups of four: 60 bits from :mod:`secrets`. Read back, case, hyphens and spaces do not
matter, and ``O``/``I``/``L`` are read as ``0``/``1``/``1``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from migrationkit.core.redaction import remember

from .model import PortfolioError

__all__ = [
    "CODE_BITS",
    "HandoffError",
    "Kdf",
    "new_code",
    "normal_code",
    "open_bundle",
    "seal_bundle",
]

MAGIC = b"MIGRATIONKIT-HANDOFF\n"
FORMAT = 1
CIPHER = "AES-256-GCM"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_SYMBOLS = 12
CODE_BITS = CODE_SYMBOLS * 5
"""The entropy of a handoff code: 12 symbols of a 32-symbol alphabet, 60 bits."""
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_MAX_HEADER = 4096


class HandoffError(PortfolioError):
    """A handoff cannot be made, accepted, withdrawn or rejected (one line says why)."""


def new_code() -> str:
    """A fresh one-time code: three groups of four symbols, like ``7K3M-Q9PA-X2DF``."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(CODE_SYMBOLS))
    return "-".join(symbols[n : n + 4] for n in range(0, CODE_SYMBOLS, 4))


def normal_code(text: str) -> str:
    """The code's 12 symbols as typed or read out (any case, hyphens and spaces ignored)."""
    plain = "".join(text.split()).replace("-", "").upper().translate(_READ_AS)
    if len(plain) != CODE_SYMBOLS or any(c not in ALPHABET for c in plain):
        raise HandoffError(
            "a handoff code is 12 letters and digits in three groups, like 7K3M-Q9PA-X2DF"
        )
    # A code is a secret from the moment it is used: as given, as shown, and as its symbols.
    remember(text.strip(), plain, "-".join(plain[i : i + 4] for i in range(0, len(plain), 4)))
    return plain


@attrs.frozen(kw_only=True)
class Kdf:
    """How the key is derived from the code (what the header says)."""

    name: str
    salt: bytes
    params: Mapping[str, int]

    @classmethod
    def fresh(cls) -> Kdf:
        """Argon2id (RFC 9106's second recommendation: 64 MiB, 3 passes, 4 lanes) or scrypt."""
        salt = os.urandom(16)
        if _argon2id() is not None:
            return cls(name="argon2id", salt=salt, params={"memory_kib": 65536, "iterations": 3,
                                                           "lanes": 4})  # fmt: skip
        return cls(name="scrypt", salt=salt, params={"n": 2**17, "r": 8, "p": 1})

    def key(self, code: str) -> bytes:
        """The 256-bit key for ``code`` (normalised)."""
        secret = code.encode("ascii")
        p = self.params
        if self.name == "argon2id":
            argon = _argon2id()
            if argon is None:
                raise HandoffError(
                    "this bundle's key is derived with Argon2id, which the OpenSSL under "
                    "cryptography here does not have; upgrade cryptography"
                )
            return bytes(
                argon(salt=self.salt, length=32, iterations=p["iterations"], lanes=p["lanes"],
                      memory_cost=p["memory_kib"]).derive(secret)
            )  # fmt: skip
        return Scrypt(salt=self.salt, length=32, n=p["n"], r=p["r"], p=p["p"]).derive(secret)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "salt": _b64(self.salt), **self.params}

    @classmethod
    def from_json(cls, data: Any) -> Kdf:
        """The header's KDF, within bounds (a crafted header must not ask for 100 GiB)."""
        if not isinstance(data, dict):
            raise ValueError("kdf")
        name = data.get("name")
        bounds = {
            "argon2id": {"memory_kib": (8192, 1 << 20), "iterations": (1, 16), "lanes": (1, 16)},
            "scrypt": {"n": (1 << 14, 1 << 20), "r": (1, 8), "p": (1, 4)},
        }.get(str(name))
        if bounds is None:
            raise ValueError("kdf name")
        params: dict[str, int] = {}
        for key, (low, high) in bounds.items():
            value = data.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"kdf {key}")
            params[key] = value
        salt = _unb64(data.get("salt"))
        if len(salt) < 16:
            raise ValueError("kdf salt")
        return cls(name=str(name), salt=salt, params=params)


def _argon2id() -> Any:
    """cryptography's Argon2id class, when it and the OpenSSL under it have one."""
    try:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
    except ImportError:
        return None
    try:
        Argon2id(salt=b"\0" * 16, length=32, iterations=1, lanes=1, memory_cost=8)
    except UnsupportedAlgorithm:
        return None
    return Argon2id


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("base64")
    return base64.b64decode(value.encode("ascii"), validate=True)


def seal_bundle(
    path: Path, code: str, members: Mapping[str, bytes], *, kdf: Kdf | None = None
) -> Path:
    """Write ``members`` (archive name -> bytes) sealed under ``code`` to ``path``, owner-only."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for name, data in members.items():
            out.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data,
                         compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip
    kdf = kdf or Kdf.fresh()
    nonce = os.urandom(12)
    header = json.dumps(
        {"format": FORMAT, "cipher": CIPHER, "kdf": kdf.to_json(), "nonce": _b64(nonce)},
        sort_keys=True,
    ).encode("ascii")
    sealed = AESGCM(kdf.key(normal_code(code))).encrypt(nonce, archive.getvalue(), MAGIC + header)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    fd = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(MAGIC + header + b"\n" + sealed)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def read_header(path: Path) -> tuple[bytes, dict[str, Any], bytes]:
    """The bundle's header (as bytes and parsed) and its ciphertext; one line if it is none."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise HandoffError(f"there is no handoff bundle at {path}") from None
    except OSError as exc:
        raise HandoffError(f"cannot read {path}: {exc.strerror}") from None
    not_one = HandoffError(f"{path} is not a migrationkit handoff bundle")
    if not data.startswith(MAGIC):
        raise not_one
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _MAX_HEADER)
    if end < 0:
        raise not_one
    header = data[len(MAGIC) : end]
    try:
        parsed = json.loads(header.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise not_one from None
    if not isinstance(parsed, dict):
        raise not_one
    if parsed.get("format") != FORMAT or parsed.get("cipher") != CIPHER:
        raise HandoffError(
            f"{path} is a handoff bundle of another format ({parsed.get('format')!r}); "
            "use the migrationkit version that made it"
        )
    return header, parsed, data[end + 1 :]


def open_bundle(path: Path, code: str) -> dict[str, bytes]:
    """The members of the bundle at ``path``, opened with ``code``; one line when it cannot."""
    header, parsed, sealed = read_header(path)
    try:
        kdf = Kdf.from_json(parsed.get("kdf"))
        nonce = _unb64(parsed.get("nonce"))
        if len(nonce) != 12:
            raise ValueError("nonce")
    except (ValueError, TypeError) as exc:
        raise HandoffError(f"{path} has a damaged header ({exc})") from None
    try:
        plain = AESGCM(kdf.key(normal_code(code))).decrypt(nonce, sealed, MAGIC + header)
    except InvalidTag:
        raise HandoffError(
            f"the code does not open {path}: it is not this offer's code, or the file was changed"
        ) from None
    try:
        with zipfile.ZipFile(io.BytesIO(plain)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    except (zipfile.BadZipFile, ValueError) as exc:
        raise HandoffError(f"{path} opened, but what it holds is damaged ({exc})") from None

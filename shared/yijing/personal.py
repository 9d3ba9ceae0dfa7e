"""Personal data: validation of mainland ID-card (GB 11643) and mobile numbers, masking, and protection at
rest. A protected value is stored three ways: sealed (AES-GCM, readable only through an audited full read),
fingerprinted (a keyed HMAC, for uniqueness and lookup without decrypting) and masked (for every response)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Annotated

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import AfterValidator, BeforeValidator, Field

from yijing.i18n import invalid
from yijing.ids import utcnow

_ID_CARD_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CARD_CHECK_CODES = "10X98765432"
# [0-9], not \d: Python's \d also matches fullwidth and other scripts' digits.
_ID_CARD_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
# Province-level codes of GB/T 2260 (11 Beijing … 65 Xinjiang, 71 Taiwan, 81/82 Hong Kong/Macao).
PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)
MOBILE_PATTERN = r"^1[3-9][0-9]{9}$"
ID_CARD_PATTERN = r"^[0-9]{17}[0-9Xx]$"


def id_card_check_code(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_CARD_WEIGHTS, strict=True))
    return _ID_CARD_CHECK_CODES[total % 11]


def validate_id_card(value: str) -> str:
    """A resident ID-card number: 18 characters, a known province, a real birth date, a correct check code."""
    number = value.strip().upper()
    if not _ID_CARD_SHAPE.match(number):
        raise invalid(
            "an ID-card number has 17 digits and a check digit or X",
            zh="身份证号应为 17 位数字加 1 位校验码（数字或 X）",
        )
    if int(number[:2]) not in PROVINCE_CODES:
        raise invalid(
            "the ID-card number's region code is not a known province", zh="身份证号的地区码不是已知的省份"
        )
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise invalid(
            "the ID-card number's birth date is not a real date", zh="身份证号中的出生日期不是有效日期"
        ) from exc
    if not date(1900, 1, 1) <= born <= utcnow().date():
        raise invalid("the ID-card number's birth date is not plausible", zh="身份证号中的出生日期不合常理")
    if id_card_check_code(number[:17]) != number[17]:
        raise invalid("the ID-card number's check digit is wrong", zh="身份证号的校验码不正确")
    return number


def normalise_mobile(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value)
    return digits.removeprefix("+86")


def mask_id_card(number: str) -> str:
    return f"{number[:4]}{'*' * 10}{number[-4:]}"


def mask_mobile(number: str) -> str:
    return f"{number[:3]}****{number[-4:]}"


# Request types. The format tells API clients (and the fuzz tests) what a valid value is.
IdCardNumber = Annotated[
    str,
    Field(
        pattern=ID_CARD_PATTERN, json_schema_extra={"format": "cn-id-card"}, examples=["11010519491231002X"]
    ),
    AfterValidator(validate_id_card),
]
# Spaces, hyphens and a +86 prefix are accepted and dropped; the bounds come first so that the OpenAPI
# document shows the pattern.
MobileNumber = Annotated[
    str,
    Field(pattern=MOBILE_PATTERN, examples=["13812345678"]),
    BeforeValidator(lambda value: normalise_mobile(value) if isinstance(value, str) else value),
]


@dataclass(frozen=True)
class Protected:
    """How one personal value is stored."""

    sealed: bytes
    fingerprint: str
    masked: str


class PersonalDataProtector:
    """Seals and fingerprints personal values with keys derived from the configured personal-data key."""

    def __init__(self, key_base64: str) -> None:
        master = base64.b64decode(key_base64)
        self._aead = AESGCM(self._derive(master, b"yijing personal data sealing"))
        self._hmac_key = self._derive(master, b"yijing personal data fingerprint")

    @staticmethod
    def _derive(master: bytes, purpose: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)

    def fingerprint(self, value: str) -> str:
        return hmac.new(self._hmac_key, value.encode(), hashlib.sha256).hexdigest()

    def seal_bytes(self, data: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data, None)

    def open_bytes(self, sealed: bytes) -> bytes:
        return self._aead.decrypt(sealed[:12], sealed[12:], None)

    def seal(self, value: str) -> bytes:
        return self.seal_bytes(value.encode())

    def open(self, sealed: bytes) -> str:
        return self.open_bytes(sealed).decode()

    def protect_mobile(self, number: str) -> Protected:
        return Protected(self.seal(number), self.fingerprint(number), mask_mobile(number))

    def protect_id_card(self, number: str) -> Protected:
        return Protected(self.seal(number), self.fingerprint(number), mask_id_card(number))


@lru_cache(maxsize=4)
def protector_for(key_base64: str) -> PersonalDataProtector:
    return PersonalDataProtector(key_base64)

"""WeChat Official Account "safe mode" (安全模式): the push's message encrypted in ``<Encrypt>``.

The scheme (WeChat's message encryption guide and its ``WXBizMsgCrypt`` sample code):

- ``msg_signature`` (query string) = SHA-1 (hex) of the Token, ``timestamp``, ``nonce`` and the
  ``Encrypt`` text, sorted and concatenated;
- the AES key is the account's EncodingAESKey (43 characters) + ``"="``, base64-decoded: 32 bytes
  (AES-256); CBC mode, the IV is the key's first 16 bytes; PKCS#7 padding to a multiple of 32 bytes;
- the plaintext is 16 random bytes, the XML's length (4 bytes, network order), the XML, the AppID.

The cipher is the ``cryptography`` package's AES-CBC; only the framing above is ours. Every failure
is :class:`shared.runtime.Rejected` with the reason (never the key or the message).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shared.runtime import Rejected

BLOCK = 32  # WeChat pads to 32 bytes (PKCS#7 with k = 32), not AES's 16
_RANDOM = 16
_LENGTH = struct.Struct(">I")
MAX_ENCRYPTED = 1_000_000  # characters of base64 accepted (the channel's size limit is far below)


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of an EncodingAESKey (43 base64 characters, the final "=" left out)."""
    text = encoding_aes_key.strip()
    if len(text) != 43:
        raise Rejected("the WeChat EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(text + "=", validate=True)
    except (binascii.Error, ValueError):
        raise Rejected("the WeChat EncodingAESKey is not base64") from None
    if len(key) != 32:
        raise Rejected("the WeChat EncodingAESKey does not decode to 32 bytes")
    return key


def msg_signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """SHA-1 (hex) of token, timestamp, nonce and the ``Encrypt`` text, sorted and concatenated."""
    return hashlib.sha1("".join(sorted((token, timestamp, nonce, encrypted))).encode()).hexdigest()


def verify(token: str, signature: str, timestamp: str, nonce: str, encrypted: str) -> bool:
    if not token or not signature:
        return False
    expected = msg_signature(token, timestamp, nonce, encrypted)
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def decrypt(encrypted: str, key: bytes, app_id: str) -> bytes:
    """The XML inside ``Encrypt``, after checking the padding, the length and that it was sent to
    ``app_id`` (the account's AppID)."""
    if len(encrypted) > MAX_ENCRYPTED:
        raise Rejected("the encrypted WeChat message is too long")
    try:
        data = base64.b64decode(encrypted.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Rejected("the encrypted WeChat message is not base64") from None
    if not data or len(data) % 16:
        raise Rejected("the encrypted WeChat message is not whole AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise Rejected("the WeChat message does not decrypt with this EncodingAESKey (bad padding)")
    plain = plain[:-pad]
    if len(plain) < _RANDOM + _LENGTH.size:
        raise Rejected("the decrypted WeChat message is too short")
    (length,) = _LENGTH.unpack_from(plain, _RANDOM)
    start = _RANDOM + _LENGTH.size
    if start + length > len(plain):
        raise Rejected("the decrypted WeChat message's length is wrong")
    xml, sent_to = plain[start : start + length], plain[start + length :]
    if not hmac.compare_digest(sent_to, app_id.encode()):
        raise Rejected("the WeChat message was encrypted for another AppID")
    return xml

"""Client secrets at rest: Fernet ciphertext to reveal, a keyed digest to verify.

Both derive from one key file in the instance folder (`encryption.key`). Verification
computes HMAC-SHA256 of the presented secret and compares digests with
`hmac.compare_digest` (constant time), so the hot path never decrypts. A plain hash would
also do for 384-bit random secrets; the HMAC key means a stolen database alone does not
even allow offline guessing.
"""
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, key: bytes | str):
        key = key.encode() if isinstance(key, str) else key
        self._fernet = Fernet(key)
        self._digest_key = hmac.new(key, b"appcreds client-secret digest v1", hashlib.sha256).digest()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as error:  # wrong key file for this database
            raise RuntimeError("stored secret cannot be decrypted with this instance's encryption.key") from error

    def digest(self, secret: str) -> str:
        return hmac.new(self._digest_key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def digest_matches(self, secret: str, expected_digest: str) -> bool:
        return hmac.compare_digest(self.digest(secret), expected_digest)

    @staticmethod
    def generate_key() -> bytes:
        return Fernet.generate_key()

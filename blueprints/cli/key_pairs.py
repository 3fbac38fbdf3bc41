"""`flask --app app keys generate NAME`: an RSA key pair for demos, written on the user's side.

    keys generate NAME [--alg RS256|RS384|PS256] [--out DIR] [--certificate] [--days N]

Writes DIR/NAME.key (the private key, PKCS#8 PEM, mode 0600 from its first byte), DIR/NAME.pub.pem
(the public key to upload for Private Key JWT or JAR) and, with --certificate, DIR/NAME.crt (a
self-signed certificate for self_signed_tls_client_auth, RFC 8705 §2.2). The server never stores a
private key, so this command touches no database row. `write_key_pair` is the same work for other
code (the demo seed).
"""
import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from blueprints.cli.keys import keys_cli
from models.auth_methods import KEY_ALGORITHMS
from models.key_material import jwk_thumbprint

RSA_BITS = 2048  # the smallest size the upload policy accepts (models/credential_uploads.py)
# A name that is one plain file name: no directory part, no leading dot, nothing a shell must quote.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
PRIVATE_KEY_MODE, PUBLIC_FILE_MODE = 0o600, 0o644


class KeyPairError(ValueError):
    """A key pair that cannot be written (a bad name or setting, or a file already there); nothing was written."""


@dataclass(frozen=True)
class KeyPairFiles:
    """What `write_key_pair` wrote, and the kid the server will compute for the public key."""

    private_key: Path
    public_key: Path
    certificate: Path | None
    kid: str  # RFC 7638 thumbprint: the kid a registration without an explicit kid gets
    alg: str


def key_pair_paths(out_dir: Path, name: str, certificate: bool = False) -> tuple[Path, Path, Path | None]:
    """(NAME.key, NAME.pub.pem, NAME.crt or None) in `out_dir`; raises KeyPairError for an unsafe name."""
    if not SAFE_NAME.fullmatch(name):
        raise KeyPairError(f"{name[:40]!r} is not a safe file name: use 1 to 64 letters, digits, '.', '_' or '-', "
                           "starting with a letter or a digit.")
    out_dir = Path(out_dir)
    return (out_dir / f"{name}.key", out_dir / f"{name}.pub.pem",
            out_dir / f"{name}.crt" if certificate else None)


def write_key_pair(out_dir: Path, name: str, alg: str = "RS256", certificate: bool = False,
                   days: int = 365) -> KeyPairFiles:
    """Write a new RSA key pair (and a self-signed certificate) as NAME.* in `out_dir`, creating it.

    Raises KeyPairError, writing nothing, for an unsafe name, an unknown alg, a certificate of
    fewer than 1 day, or when any of the files already exists: a key is never overwritten.
    """
    if alg not in KEY_ALGORITHMS:
        raise KeyPairError(f"The algorithm must be one of {', '.join(KEY_ALGORITHMS)}.")
    if certificate and days < 1:
        raise KeyPairError("A certificate must be valid for at least 1 day.")
    private_path, public_path, certificate_path = key_pair_paths(out_dir, name, certificate)
    targets = [path for path in (private_path, public_path, certificate_path) if path is not None]
    existing = [path for path in targets if path.exists()]
    if existing:
        raise KeyPairError(f"{', '.join(str(path) for path in existing)} already "
                           f"{'exists' if len(existing) == 1 else 'exist'}; choose another NAME or --out DIR "
                           "(a key is never overwritten).")

    private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    contents = {
        private_path: private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()),
        public_path: private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo),
    }
    if certificate_path is not None:
        contents[certificate_path] = _self_signed_certificate(private_key, name, days).public_bytes(
            serialization.Encoding.PEM)

    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise KeyPairError(f"{out_dir} is not a folder.") from None
    written = []
    try:
        for path, data in contents.items():
            _write_new_file(path, data, PRIVATE_KEY_MODE if path == private_path else PUBLIC_FILE_MODE)
            written.append(path)
    except FileExistsError as error:  # created by someone else since the check: take back what we wrote
        for path in written:
            path.unlink()
        raise KeyPairError(f"{error.filename} already exists; a key is never overwritten.") from None
    return KeyPairFiles(private_path, public_path, certificate_path, jwk_thumbprint(private_key.public_key()), alg)


def _write_new_file(path: Path, data: bytes, mode: int) -> None:
    """Create `path` with `mode` from its first byte (never chmod after); FileExistsError if it exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def _self_signed_certificate(private_key: rsa.RSAPrivateKey, name: str, days: int) -> x509.Certificate:
    """CN=NAME, signed by its own key: registered by its thumbprint (RFC 8705 §2.2), so no CA is involved."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))  # a little clock skew between machines
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(private_key, hashes.SHA256()))


@keys_cli.command("generate", short_help="Write an application's RSA key pair (not a server key).")
@click.argument("name")
@click.option("--alg", type=click.Choice(KEY_ALGORITHMS), default="RS256", show_default=True,
              help="The algorithm to register the public key for.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="The folder to write into (created if missing).")
@click.option("--certificate", is_flag=True, help="Also write NAME.crt, a self-signed certificate for "
                                                  "self_signed_tls_client_auth.")
@click.option("--days", type=click.IntRange(min=1), default=365, show_default=True,
              help="How long the certificate is valid.")
def generate_key_pair(name, alg, out_dir, certificate, days):
    """Write an RSA key pair (and a certificate) for an application; the server stores nothing."""
    try:
        files = write_key_pair(out_dir, name, alg=alg, certificate=certificate, days=days)
    except KeyPairError as error:
        raise click.ClickException(str(error)) from None
    for path in (files.private_key, files.public_key, files.certificate):
        if path is not None:
            click.echo(f"wrote {path}")
    click.echo(f"kid (RFC 7638 thumbprint): {files.kid}")
    click.echo(f"upload {files.public_key.name} on the application's Credentials tab (Private Key JWT or JAR) "
               f"with algorithm {alg}")
    click.echo(f"{files.private_key.name} is your private key: never upload or share it")
    if files.certificate is not None:
        click.echo(f"for self_signed_tls_client_auth upload {files.certificate.name} instead (a key pair is "
                   f"registered once); curl and requests use --cert {files.certificate.name} "
                   f"--key {files.private_key.name}")

"""The demo's certificate authority, for `demo seed` (blueprints/cli/demo.py).

tls_client_auth (RFC 8705 §2.1) needs a certificate issued by a CA the server trusts: the demo
makes its own CA, writes its certificate (demo-ca.crt, for APPCREDS_MTLS_CA_BUNDLE and the edge's
client CA bundle) and issues two certificates with it: the client's, and the nginx edge's server
certificate for localhost (so demo-ca.crt is also what the examples verify the edge with). The CA's
private key is never written: once the seed is done, nothing more is issued.
"""
import dataclasses
import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from blueprints.cli.key_pairs import KeyPairFiles, write_key_pair

CA_CERTIFICATE = "demo-ca.crt"
ORGANIZATION = "AppCreds Demo"
VALID_DAYS = 365


@dataclass(frozen=True)
class DemoCa:
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey  # in memory only
    path: Path


def write_demo_ca(out_dir: Path) -> DemoCa:
    """A new CA, its certificate written to OUT/demo-ca.crt.

    Its name carries a random suffix, so a second seed's CA (after starting over) is another
    issuer and its client certificate's subject DN does not clash with the first one's
    (models/credential_registry.py check_subject_dn_not_registered).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(f"AppCreds Demo CA {secrets.token_hex(3)}")
    builder = (_valid_now(x509.CertificateBuilder())
               .subject_name(subject).issuer_name(subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False, key_agreement=False,
                                            key_cert_sign=True, crl_sign=True, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    certificate = builder.sign(key, hashes.SHA256())
    path = Path(out_dir) / CA_CERTIFICATE
    write_new_file(path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    return DemoCa(certificate, key, path)


def issue_client_certificate(ca: DemoCa, key_pair: KeyPairFiles) -> KeyPairFiles:
    """NAME.crt for the key pair, issued by the demo CA for TLS client authentication; returns the pair with it."""
    name = key_pair.private_key.name.removesuffix(".key")
    return _issue(ca, key_pair, _name(f"demo {name}"), ExtendedKeyUsageOID.CLIENT_AUTH)


def issue_edge_certificate(ca: DemoCa, out_dir: Path) -> KeyPairFiles:
    """edge.key and edge.crt: the TLS server certificate of an nginx edge on localhost (and 127.0.0.1)."""
    return _issue(ca, write_key_pair(out_dir, "edge"), _name("localhost"), ExtendedKeyUsageOID.SERVER_AUTH,
                  x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                               x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]))


def _issue(ca: DemoCa, key_pair: KeyPairFiles, subject: x509.Name, usage, alternative_names=None) -> KeyPairFiles:
    private_key = serialization.load_pem_private_key(key_pair.private_key.read_bytes(), password=None)
    builder = (_valid_now(x509.CertificateBuilder())
               .subject_name(subject).issuer_name(ca.certificate.subject).public_key(private_key.public_key())
               .serial_number(x509.random_serial_number())
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.private_key.public_key()),
                              critical=False))
    if alternative_names is not None:
        builder = builder.add_extension(alternative_names, critical=False)
    certificate = builder.sign(ca.private_key, hashes.SHA256())
    path = key_pair.private_key.with_name(key_pair.private_key.name.removesuffix(".key") + ".crt")
    write_new_file(path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    return dataclasses.replace(key_pair, certificate=path)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _valid_now(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    # Five minutes back: a little clock skew between the machines of a class.
    return builder.not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=VALID_DAYS))


def write_new_file(path: Path, data: bytes, mode: int) -> None:
    """Create `path` with `mode` from its first byte; FileExistsError if it exists (nothing is overwritten)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)

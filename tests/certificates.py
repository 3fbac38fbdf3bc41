"""Throwaway X.509 material for mTLS tests, made with `cryptography`: a CA, CA-issued client
certificates, self-signed ones, expired ones and one from an unknown CA."""
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from models.key_material import certificate_thumbprint


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()

    @property
    def thumbprint(self) -> str:
        return certificate_thumbprint(self.certificate)

    @property
    def header_value(self) -> str:
        """As nginx's $ssl_client_escaped_cert forwards it: URL-encoded PEM."""
        return quote(self.pem, safe="")

    def write(self, folder, name):
        cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
        cert_path.write_text(self.pem)
        key_path.write_text(self.key_pem)
        return cert_path, key_path


def name(common_name, organization="AppCreds Tests", country="US", extra=()):
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                  x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)]
    attributes += [x509.NameAttribute(oid, value) for oid, value in extra]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _validity(builder, days_valid, expired):
    now = dt.datetime.now(dt.UTC)
    if expired:
        return builder.not_valid_before(now - dt.timedelta(days=30)).not_valid_after(now - dt.timedelta(days=1))
    return builder.not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days_valid))


def make_ca(common_name="AppCreds Test CA") -> Issued:
    key = _key()
    subject = name(common_name)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    return Issued(_validity(builder, 365, False).sign(key, hashes.SHA256()), key)


def issue_client_certificate(ca: Issued, subject: x509.Name, expired=False, days_valid=30,
                             extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,)) -> Issued:
    """A certificate issued by `ca`; `extended_key_usage=None` leaves the extension out."""
    key = _key()
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.certificate.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                              critical=False))
    if extended_key_usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(extended_key_usage)), critical=False)
    return Issued(_validity(builder, days_valid, expired).sign(ca.key, hashes.SHA256()), key)


def self_signed_certificate(common_name="self-signed client", expired=False) -> Issued:
    key = _key()
    subject = name(common_name)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    return Issued(_validity(builder, 30, expired).sign(key, hashes.SHA256()), key)


@lru_cache(maxsize=1)
def trusted_ca() -> Issued:
    return make_ca()


@lru_cache(maxsize=1)
def foreign_ca() -> Issued:
    return make_ca("Some Other CA")


def server_certificate(ca: Issued, hostname="localhost") -> Issued:
    """A TLS server certificate for the nginx edge (SAN localhost and 127.0.0.1)."""
    import ipaddress

    key = _key()
    builder = (x509.CertificateBuilder().subject_name(name(hostname)).issuer_name(ca.certificate.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname),
                                                           x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                              critical=False)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                              critical=False))
    return Issued(_validity(builder, 30, False).sign(ca.key, hashes.SHA256()), key)

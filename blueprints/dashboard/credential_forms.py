"""Forms of the Credentials tab's credential sections: Private Key JWT keys, mTLS certificates and
subject DNs, the rows' rename and expiry, certificate-bound tokens (credential_sections.py), and
JAR keys with the JAR/PAR request policy (jar_par_section.py).

The rules are the upload policy's (models/credential_uploads.py): each form runs its checks in
`validate_<field>` through `check_field`, so a refusal lands on the field it is about, before
anything is written. A PEM comes pasted or as a file, never both. Field names carry their
section's prefix (key_, certificate_, dn_) because every section shares one page.
"""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from blueprints.dashboard.forms import SelectChoice, check_field
from models.applications import PAR_EXPIRY_RANGE
from models.auth_methods import KEY_ALGORITHMS, PRIVATE_KEY_JWT
from models.credential_uploads import (
    MAX_PEM_BYTES,
    MAX_SUBJECT_DN_CHARS,
    check_expiry,
    check_kid,
    parse_expires_at,
    parse_public_pem,
    reject_private_key,
)
from models.errors import CredentialError
from models.timeutil import utcnow


def expiry_value(field):
    """The field's expiry as an aware datetime (None when empty), checked as the registry does."""
    if not (field.data or "").strip():
        return None
    expires_at = check_field(parse_expires_at, field.data)
    check_field(check_expiry, expires_at, utcnow())
    return expires_at


# One format for every expiry, typed as shown and always UTC: a browser's date-time picker would show
# the local time zone and its own order (mm/dd/yyyy) beside a UTC label. Any ISO 8601 form is accepted.
EXPIRY_FORMAT = "YYYY-MM-DD HH:MM"
EXPIRY_LABEL = f"Expires (UTC, {EXPIRY_FORMAT})"
EXPIRY_INPUT = {"placeholder": EXPIRY_FORMAT, "autocomplete": "off", "spellcheck": "false"}


class PemUploadForm(FlaskForm):
    """A form with one PEM that may be pasted (`pem_field`) or uploaded (`file_field`)."""

    pem_field = file_field = ""  # names of the two fields, set by each subclass
    missing = "Paste a PEM or upload a file."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.expires_at = None  # set by a form's expiry validator

    def pem_source(self):
        """The one field the PEM came in (where its errors go); None when neither or both have one."""
        pasted, uploaded = (self[self.pem_field].data or "").strip(), self[self.file_field].data
        if bool(pasted) == bool(uploaded):
            return None
        return self[self.file_field] if uploaded else self[self.pem_field]

    def refusal_field(self):
        """The field a refusal from the registry belongs on: the one the PEM came in."""
        return self.pem_source()

    def pem_text(self):
        """The PEM as text or bytes (a file is read up to one byte past the limit: "too large")."""
        upload = self[self.file_field].data
        if upload:
            upload.stream.seek(0)
            return upload.stream.read(MAX_PEM_BYTES + 1)
        return self[self.pem_field].data

    def parse_upload(self, field, parse):
        """Run `parse` on the PEM if it came in `field`; a refusal becomes this field's error."""
        if self.pem_source() is not field:
            return None
        return check_field(parse, self.pem_text())

    def drop_private_keys(self) -> None:
        """Before the form is shown again: never send a pasted private key back in the page."""
        for field in self:
            if isinstance(field.data, str):
                try:
                    reject_private_key(field.data)
                except CredentialError:
                    field.data = ""

    def check_one_pem(self, required=True) -> None:
        pasted, uploaded = (self[self.pem_field].data or "").strip(), self[self.file_field].data
        if pasted and uploaded:
            # Said whatever else is wrong: a pasted private key is reported, not just "not both".
            check_field(reject_private_key, pasted)
            raise ValidationError("Paste the PEM or upload a file, not both.")
        if required and not pasted and not uploaded:
            raise ValidationError(self.missing)


class AddPrivateKeyJwtKeyForm(PemUploadForm):
    pem_field, file_field = "key_pem", "key_file"
    missing = "Paste a PEM public key or certificate, or upload the file."

    key_pem = TextAreaField("Public key or certificate (PEM)")
    key_file = FileField("…or upload the PEM file")
    key_alg = SelectField("Algorithm", choices=[SelectChoice(alg, alg) for alg in KEY_ALGORITHMS], default="RS256",
                          validate_choice=False)
    key_name = StringField("Name (optional)", validators=[Length(max=128)])
    key_kid = StringField("Key ID, kid (optional)")
    key_expires_at = StringField(EXPIRY_LABEL + " (optional)", render_kw=EXPIRY_INPUT)
    key_expiry_from_certificate = BooleanField("Take the expiry from the certificate")
    submit = SubmitField("Add key")

    def __init__(self, *args, client=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.client, self.parsed = client, None  # parsed: the registry's ParsedPem, once the PEM is read

    def validate_key_pem(self, field):
        self.check_one_pem()
        self.parsed = self.parse_upload(field, parse_public_pem)

    def validate_key_file(self, field):
        self.parsed = self.parse_upload(field, parse_public_pem) or self.parsed

    def validate_key_alg(self, field):
        if field.data not in KEY_ALGORITHMS:
            raise ValidationError(f"Choose one of {', '.join(KEY_ALGORITHMS)}.")

    def validate_key_kid(self, field):
        kid = (field.data or "").strip()
        if not kid:
            return
        check_field(check_kid, kid)
        if any(c.kid == kid for c in self.client.credentials if c.usage == PRIVATE_KEY_JWT):
            raise ValidationError(f"Another Private Key JWT key of this application already has the key ID {kid}.")

    def validate_key_expires_at(self, field):
        self.expires_at = expiry_value(field)

    def validate_key_expiry_from_certificate(self, field):
        if not field.data:
            return
        if (self.key_expires_at.data or "").strip():
            raise ValidationError("Give an expiry or take it from the certificate, not both.")
        if self.parsed is not None and self.parsed.certificate is None:
            raise ValidationError("An expiry can be taken only from a certificate; this is a public key.")


class AddCertificateForm(PemUploadForm):
    pem_field, file_field = "certificate_pem", "certificate_file"
    missing = "Paste the PEM certificate or upload its file."

    certificate_pem = TextAreaField("Certificate (PEM)")
    certificate_file = FileField("…or upload the certificate file")
    certificate_name = StringField("Name (optional)", validators=[Length(max=128)])
    submit = SubmitField("Add certificate")

    def validate_certificate_pem(self, field):
        self.check_one_pem()


class AddSubjectDnForm(PemUploadForm):
    pem_field, file_field = "dn_certificate_pem", "dn_certificate_file"

    subject_dn = StringField("Subject DN", validators=[Length(max=MAX_SUBJECT_DN_CHARS)])
    dn_certificate_pem = TextAreaField("…or take it from a certificate (PEM)")
    dn_certificate_file = FileField("…or upload the certificate file")
    dn_name = StringField("Name (optional)", validators=[Length(max=128)])
    dn_expires_at = StringField(EXPIRY_LABEL + " (optional)", render_kw=EXPIRY_INPUT)
    submit = SubmitField("Add subject DN")

    def validate_subject_dn(self, field):
        typed = (field.data or "").strip()
        if typed:
            check_field(reject_private_key, typed)
        has_certificate = bool((self.dn_certificate_pem.data or "").strip() or self.dn_certificate_file.data)
        if typed and has_certificate:
            raise ValidationError("Type a subject DN or give a certificate to take it from, not both.")
        if not typed and not has_certificate:
            raise ValidationError("Type a subject DN, or give a certificate to take it from.")

    def validate_dn_certificate_pem(self, field):
        self.check_one_pem(required=False)

    def validate_dn_expires_at(self, field):
        self.expires_at = expiry_value(field)

    def refusal_field(self):
        """The field a refusal from the registry belongs on: the typed DN or the certificate."""
        return self.pem_source() or self.subject_dn


class RenameCredentialForm(FlaskForm):
    name = StringField("New name", validators=[DataRequired("Enter a name."), Length(max=128)])
    submit = SubmitField("Rename")


class ChangeExpiryForm(FlaskForm):
    expires_at = StringField(EXPIRY_LABEL, render_kw=EXPIRY_INPUT)
    set_expiry = SubmitField("Set expiry")
    clear_expiry = SubmitField("Clear expiry")

    def validate_expires_at(self, field):
        if self.clear_expiry.data:
            self.value = None
            return
        if not (field.data or "").strip():
            raise ValidationError("Enter a date, or clear the expiry.")
        self.value = expiry_value(field)


class ProofOfPossessionForm(FlaskForm):
    require_proof_of_possession = BooleanField("Require sender-constrained (certificate-bound) tokens")
    submit = SubmitField("Save")


class AddJarKeyForm(FlaskForm):
    name = StringField("Name (optional)", validators=[Length(max=128)])
    alg = SelectField("Algorithm", choices=[SelectChoice(alg, alg) for alg in KEY_ALGORITHMS], default="RS256")
    pem = TextAreaField("Public key or certificate (PEM)", validators=[InputRequired("Paste a PEM public key.")])
    submit = SubmitField("Add key")


class RequestPolicyForm(FlaskForm):
    require_signed_request_object = BooleanField("Require signed authorization requests (JAR)")
    require_pushed_authorization_requests = BooleanField("Require pushed authorization requests (PAR)")
    par_request_expiry = IntegerField(
        "PAR request_uri lifetime (seconds)",
        validators=[InputRequired("Enter a number of seconds."),
                    NumberRange(*PAR_EXPIRY_RANGE, message="Between 10 and 600 seconds.")])
    submit = SubmitField("Save request policy")

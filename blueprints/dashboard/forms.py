"""Forms of the application pages (create, settings, delete, API access) and the method switch.

Each input is checked in a `validate_<field>` method, so a bad value is shown on its field (status
400) before anything is written. Where the domain layer has the rule (models/applications.py), the
form calls it through `check_field`, so the dashboard, the CLI and the Management API agree.
The Credentials tab's key and certificate forms are in credential_forms.py.
"""
from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

try:
    from wtforms.fields.choices import SelectChoice
except ImportError:  # WTForms before 3.3 takes (value, label) pairs
    def SelectChoice(value, label):  # noqa: N802
        return (value, label)

from models.applications import check_callback_url, check_grant_types_fit_method, check_method_fits_app_type
from models.auth_methods import (
    APP_TYPES,
    AUTH_METHODS,
    AUTHORIZATION_CODE,
    CLIENT_CREDENTIALS,
    CLIENT_SECRET_BASIC,
    CREATE_METHODS,
    GRANT_TYPES,
    MACHINE_TO_MACHINE,
    MTLS_METHODS,
    NONE,
    REFRESH_TOKEN,
)
from models.errors import ApplicationError

GRANT_TYPE_LABELS = {
    CLIENT_CREDENTIALS: "Client credentials (machine to machine)",
    AUTHORIZATION_CODE: "Authorization code (a person signs in)",
    REFRESH_TOKEN: "Refresh token",
}
MAX_CALLBACK_URLS = 50
# The method the create form proposes for each type (Auth0's choice): a public client for the types
# that run on the user's device, a client secret for the others. The grant types follow
# models.applications.default_grant_types.
DEFAULT_AUTH_METHODS = {
    "regular_web": CLIENT_SECRET_BASIC,
    "spa": NONE,
    "native": NONE,
    MACHINE_TO_MACHINE: CLIENT_SECRET_BASIC,
}


def sentence(message: str) -> str:
    """An ApplicationError message ("the name must ...") as a sentence for the page."""
    message = str(message).strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def check_field(check, *args, advice: str = "") -> object:
    """Run a domain-layer check on a field's value; its ApplicationError becomes the field's error.

    `advice` follows the domain's sentence: what to do about it on this page.
    """
    try:
        return check(*args)
    except ApplicationError as error:
        raise ValidationError(f"{sentence(error)} {advice}".strip()) from None


def split_lines(text: str | None) -> list[str]:
    """The non-blank lines of a textarea, stripped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes; each must be one of the choices (checked by SelectMultipleField)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ApplicationSettingsForm(FlaskForm):
    """The fields shared by creating and editing an application."""

    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=128)],
                       filters=[lambda value: value.strip() if isinstance(value, str) else value])
    description = TextAreaField("Description (optional)", validators=[Length(max=2000)])
    app_type = SelectField("Application type", validate_choice=False,
                           choices=[SelectChoice(value, label) for value, label in APP_TYPES.items()])
    callback_urls = TextAreaField("Allowed callback URLs (one per line)")
    grant_types = MultiCheckboxField("Grant types", validate_choice=False,
                                     choices=[SelectChoice(g, GRANT_TYPE_LABELS.get(g, g)) for g in GRANT_TYPES])

    def validate_app_type(self, field):
        if field.data not in APP_TYPES:
            raise ValidationError("Choose one of the application types listed.")

    def validate_grant_types(self, field):
        unknown = [g for g in field.data or [] if g not in GRANT_TYPES]
        if unknown:
            raise ValidationError(f"Unsupported grant type {unknown[0]!r}.")

    def validate_callback_urls(self, field):
        urls = split_lines(field.data)
        if len(urls) > MAX_CALLBACK_URLS:
            raise ValidationError(f"At most {MAX_CALLBACK_URLS} callback URLs.")
        for url in urls:
            check_field(check_callback_url, url)  # absolute, no fragment, https or loopback

    @property
    def callback_url_list(self) -> list[str]:
        return split_lines(self.callback_urls.data)


class CreateApplicationForm(ApplicationSettingsForm):
    token_endpoint_auth_method = RadioField(
        "Authentication method", choices=[SelectChoice(m, m) for m in CREATE_METHODS], default=CLIENT_SECRET_BASIC,
        validate_choice=False,
    )
    submit = SubmitField("Create application")

    def validate_grant_types(self, field):
        super().validate_grant_types(field)
        check_field(check_grant_types_fit_method, field.data, self.token_endpoint_auth_method.data)
        # Dashboard only (the CLI and the API let a script add callback URLs later): a person who
        # creates a sign-in application without a callback URL has made one nobody can sign in to.
        if AUTHORIZATION_CODE in (field.data or []) and not self.callback_url_list:
            raise ValidationError("Signing people in (authorization code) needs at least one allowed callback "
                                  "URL: add one above, or untick Authorization code.")

    def validate_token_endpoint_auth_method(self, field):
        if field.data not in CREATE_METHODS:
            raise ValidationError("A new application starts with a client secret or with none; "
                                  "other methods need a credential registered first.")
        check_field(check_method_fits_app_type, self.app_type.data, field.data)


class EditApplicationForm(ApplicationSettingsForm):
    require_pkce = BooleanField("Require PKCE (S256) in the authorization-code flow")
    submit = SubmitField("Save changes")

    def __init__(self, *args, current_method=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_method = current_method

    def validate_app_type(self, field):
        super().validate_app_type(field)
        check_field(check_method_fits_app_type, field.data, self.current_method,
                    advice="Switch its authentication method on the Credentials tab first.")

    def validate_grant_types(self, field):
        super().validate_grant_types(field)
        check_field(check_grant_types_fit_method, field.data, self.current_method)


class DeleteApplicationForm(FlaskForm):
    confirm_name = StringField("Type the application's name to confirm", validators=[DataRequired("Type the name.")])
    submit = SubmitField("Delete application")

    def __init__(self, *args, expected_name="", **kwargs):
        super().__init__(*args, **kwargs)
        self.expected_name = expected_name

    def validate_confirm_name(self, field):
        if field.data.strip() != self.expected_name:
            raise ValidationError("That is not the application's name; nothing was deleted.")


# Why the dashboard refuses an mTLS method on a server without a TLS edge. The CLI and the Management
# API still allow the switch (a script may register the edge later); the dashboard, used by a person
# who may not know, refuses it rather than leave an application that cannot authenticate.
MTLS_NOT_CONFIGURED = ("mTLS is not configured on this server (APPCREDS_EDGE_SECRET is not set), so no token "
                       "request can bring a client certificate and the application could not authenticate. "
                       "Set up the TLS edge first (README, “mTLS behind nginx”).")


class ChangeAuthMethodForm(FlaskForm):
    token_endpoint_auth_method = RadioField("Authentication method", choices=[SelectChoice(m, m) for m in AUTH_METHODS],
                                            validate_choice=False)
    # "yes" once the administrator has read what the switch deletes (dashboard/change_method.html).
    confirmed = HiddenField()
    submit = SubmitField("Save method")

    def validate_token_endpoint_auth_method(self, field):
        if field.data not in AUTH_METHODS:
            raise ValidationError("Choose one of the methods listed.")
        if field.data in MTLS_METHODS and not current_app.config.get("APPCREDS_EDGE_SECRET"):
            raise ValidationError(MTLS_NOT_CONFIGURED)


def api_grants_form(apis, client):
    """A form with, per API, a "granted" checkbox and its scopes' checkboxes (fields api_<n>, scopes_<n>)."""

    class ApiGrantsForm(FlaskForm):
        submit = SubmitField("Save API access")

        def validate(self, extra_validators=None):
            """Scopes ticked for an API that is not allowed would be dropped: say so instead, on the API's box."""
            valid = super().validate(extra_validators)
            for index, api in enumerate(apis):
                if self[f"scopes_{index}"].data and not self[f"api_{index}"].data:
                    self[f"api_{index}"].errors.append(
                        f"You ticked scopes for {api.name}, but not “Allow tokens for {api.name}”. Tick it to "
                        "grant those scopes, or untick them. Nothing was saved.")
                    valid = False
            return valid

    for index, api in enumerate(apis):
        setattr(ApiGrantsForm, f"api_{index}", BooleanField(f"Allow tokens for {api.name}"))
        setattr(ApiGrantsForm, f"scopes_{index}", MultiCheckboxField(
            "Scopes", choices=[SelectChoice(scope, f"{scope}: {text}") for scope, text in api.scopes.items()]))
    data = {}
    for index, api in enumerate(apis):
        grant = client.grant_for(api.identifier)
        data[f"api_{index}"] = grant is not None
        data[f"scopes_{index}"] = list(grant.scopes) if grant is not None else []
    return ApiGrantsForm(data=data)  # on a POST the submitted boxes win over these defaults

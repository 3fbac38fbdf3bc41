from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length


class SignInForm(FlaskForm):
    # autocomplete: password managers fill the pair in (WCAG 1.3.5, HTML's autofill tokens).
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)], render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField("Sign in")


class EmptyForm(FlaskForm):
    """A form with only its CSRF token: for POST-only buttons (sign out, reveal, rotate...)."""

    submit = SubmitField("Submit")

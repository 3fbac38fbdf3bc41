from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Sign in")


class EmptyForm(FlaskForm):
    """A form with only its CSRF token: for POST-only buttons (sign out, reveal, rotate...)."""

    submit = SubmitField("Submit")

"""End-user forms; each carries a CSRF token (Flask-WTF)."""
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length


class EndUserSignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=1024)])
    submit = SubmitField("Sign in")


class ConsentForm(FlaskForm):
    tx = HiddenField(validators=[DataRequired(), Length(max=64)])
    allow = SubmitField("Allow")
    deny = SubmitField("Deny")

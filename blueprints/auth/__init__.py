"""Dashboard sign-in and sign-out (Flask-Login sessions, Flask-WTF forms with CSRF): views.py
defines the blueprint and Flask-Login's user loader, forms.py the forms, sign_in.py what the
end users' sign-in (blueprints/authorize/account.py) shares with it."""
from blueprints.auth.views import bp

__all__ = ["bp"]

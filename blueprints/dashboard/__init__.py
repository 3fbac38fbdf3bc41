"""The dashboard: applications, their settings, credentials and logs (administrators only).

    common.py              the blueprint `bp`, its admin guard and CSRF page, and what every route
                           shares: load an application, commit a change or show why not, record it
    views.py               the application list, create, settings, delete, API access, and the Endpoints
                           page (the server's addresses and signing keys)
    logs.py                the Logs tab and the tenant-wide Logs page (with filters), and the inspector's
                           page for one event: every check the server made, in order
    credentials_tab.py     the Credentials tab's sections in page order, and `render_credentials`
    credentials.py         the tab itself, the client secret (reveal, rotate), the method switch
    credential_sections.py Private Key JWT keys, mTLS certificates and subject DNs, certificate-bound
                           tokens, and every credential row's rename, expiry and delete
    jar_par_section.py     keys for signed authorization requests (JAR) and the JAR/PAR policy
    guide.py               the guide: docs/guide/*.md rendered as dashboard pages
    forms.py, credential_forms.py   the forms, each input checked on its own field

A route module imports common.py, credentials_tab.py and the forms, never another route module;
this file imports the route modules so their routes are on `bp` before the app registers it.
"""
from blueprints.dashboard import credential_sections, credentials, guide, jar_par_section, logs, views  # noqa: F401
from blueprints.dashboard.common import bp

__all__ = ["bp"]

from flask import render_template
from flask_login import login_required

from blueprints.dashboard import bp


@bp.get("/")
@login_required
def applications():
    return render_template("dashboard/applications.html")

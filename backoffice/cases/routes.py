"""Caseworker pages."""

from __future__ import annotations

from flask import render_template

from backoffice.auth.models import Permission
from backoffice.cases import bp
from backoffice.core.security import permission_required


@bp.get("/")
@permission_required(Permission.WORK_CASES)
def index():
    return render_template("cases/index.html")

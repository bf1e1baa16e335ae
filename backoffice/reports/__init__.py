"""Supervisors' pages that read several features at once: the QMAS quota dashboard.

It sits above quota and cases (it reads the quota's numbers beside the cases that take the
places), so neither of them needs to know the other's read side.
"""

from flask import Blueprint

bp = Blueprint("reports", __name__, template_folder="templates")

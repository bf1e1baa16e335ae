"""The annual QMAS quota: limits per year, and places taken and given back atomically.

No pages of its own: the supervisors' dashboard reads the quota beside the cases and so
lives above both, in ``backoffice/reports``.
"""

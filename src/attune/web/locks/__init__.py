"""Locks on data: a form, a participant, the study's freeze for an interim analysis and its database
lock for the final one. Every service that writes clinical data calls :func:`require_unlocked`.
"""

from attune.web.locks.checks import require_study_unlocked, require_unlocked

__all__ = ["require_study_unlocked", "require_unlocked"]

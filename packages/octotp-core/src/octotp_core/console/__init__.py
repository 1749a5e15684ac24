"""The console around the token service: who may do what in a project (``permissions``), what
happened and who did it (``audit``), and the console's own codes and mail."""

from .audit import ACTIONS, AuditLog
from .permissions import ROLES, Access, Action, Role, project_access, role_allows

__all__ = ["ACTIONS", "ROLES", "Access", "Action", "AuditLog", "Role", "project_access", "role_allows"]

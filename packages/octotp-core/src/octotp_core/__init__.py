"""octotp core: one-time verification codes, framework-neutral.

Quick start (in-process)::

    from octotp_core import Octotp, Settings

    octotp = Octotp(Settings(database_url="sqlite:///octotp.db"))
    octotp.migrate()
    project = octotp.accounts.create_project("My app").project
    token = octotp.create_token(project.id, email="user@example.com")
    octotp.validate_token(project.id, email="user@example.com", code=token.code)
"""

from .clock import Clock, FrozenClock, SystemClock
from .console.host import HOST_PERMISSIONS, HostIdentity, HostLogin
from .core import Octotp
from .errors import (
    AuthenticationFailed,
    Conflict,
    DeliveryFailed,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    OctotpError,
    PermissionDenied,
    ProjectSuspended,
    RateLimited,
    StorageUnavailable,
)
from .settings import Plan, Settings
from .states import TOKEN_STATES, TokenState, token_state
from .tokens import CreatedToken, TokenEvent, TokenService, Validation
from .version import __version__

__all__ = [
    "HOST_PERMISSIONS",
    "TOKEN_STATES",
    "AuthenticationFailed",
    "Clock",
    "Conflict",
    "CreatedToken",
    "DeliveryFailed",
    "FieldError",
    "Forbidden",
    "FrozenClock",
    "HostIdentity",
    "HostLogin",
    "InvalidInput",
    "NotFound",
    "Octotp",
    "OctotpError",
    "PermissionDenied",
    "Plan",
    "ProjectSuspended",
    "RateLimited",
    "Settings",
    "StorageUnavailable",
    "SystemClock",
    "TokenEvent",
    "TokenService",
    "TokenState",
    "Validation",
    "__version__",
    "token_state",
]

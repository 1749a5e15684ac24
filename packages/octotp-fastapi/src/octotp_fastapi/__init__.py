"""octotp for FastAPI.

In a host app::

    from fastapi import FastAPI
    from octotp_core import Octotp, Settings
    from octotp_fastapi import install

    app = FastAPI()
    install(app, Octotp(Settings(database_url="sqlite:///octotp.db")), prefix="/octotp")

With your own users and login page for the dashboard (a dependency returning a ``HostIdentity`` or
None)::

    install(app, octotp, prefix="/octotp", dashboard_auth=current_identity, login_url="/login")

Standalone: ``octotp serve``.
"""

from octotp_core import HostIdentity

from .app import create_app
from .errors import handle_octotp_errors, problem_response
from .metrics import metrics_view
from .router import OctotpDep, cancel_token, create_router, create_token, get_octotp, install, validate_token
from .version import __version__

__all__ = [
    "HostIdentity",
    "OctotpDep",
    "__version__",
    "cancel_token",
    "create_app",
    "create_router",
    "create_token",
    "get_octotp",
    "handle_octotp_errors",
    "install",
    "metrics_view",
    "problem_response",
    "validate_token",
]

"""octotp for Flask: the one-time verification code API inside your app.

from flask import Flask
from octotp_flask import Octotp

app = Flask(__name__)
app.config["OCTOTP_DATABASE_URL"] = "sqlite:///octotp.db"
octotp = Octotp(app)  # /api/tokens, /api/tokens/validate, the dashboard, `flask octotp ...`

The dashboard signed in by your own users (Flask-Login)::

    from flask_login import current_user as me
    from octotp_flask import HostIdentity

    user = lambda: HostIdentity(str(me.id), me.email, operator=me.is_admin) if me.is_authenticated else None
    octotp = Octotp(app, dashboard_auth=user, login_url="login")  # anonymous visitors: url_for("login")
"""

try:
    import flask  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without Flask installed
    raise ImportError("octotp_flask needs Flask: pip install octotp-flask (or pip install 'flask>=2.3')") from exc

from octotp_core import HOST_PERMISSIONS, HostIdentity

from . import signals
from .config import ConfigurationError
from .errors import handle_octotp_errors, problem_response
from .extension import Octotp, cancel_token, create_token, get_octotp, validate_token
from .metrics import metrics_view
from .signals import (
    delivery_delivered,
    delivery_failed,
    delivery_sent,
    token_approved,
    token_created,
    token_failed,
    token_locked,
)
from .version import __version__

__all__ = [
    "HOST_PERMISSIONS",
    "ConfigurationError",
    "HostIdentity",
    "Octotp",
    "__version__",
    "cancel_token",
    "create_token",
    "delivery_delivered",
    "delivery_failed",
    "delivery_sent",
    "get_octotp",
    "handle_octotp_errors",
    "metrics_view",
    "problem_response",
    "signals",
    "token_approved",
    "token_created",
    "token_failed",
    "token_locked",
    "validate_token",
]

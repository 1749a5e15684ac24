from __future__ import annotations

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchapps.django_host.settings")
application = get_wsgi_application()
gc.freeze()  # as octotp-django's README advises a host to, once Django is set up

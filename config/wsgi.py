import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

# Imported once Django is set up: the front answers what it remembered, Django the rest.
from config.front import FrontApplication  # noqa: E402

application = FrontApplication(django_application)

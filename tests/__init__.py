"""The test suite; importing it first makes the app strict (see `Settings.strict`)."""

import os

os.environ.setdefault("APP_STRICT", "1")

"""The test suite; importing it first makes the app strict (see `Settings.strict`)."""

import os

os.environ.setdefault("APP_STRICT", "1")
# every query the suite sends runs through both paths, compared (`schema.compiled`)
os.environ.setdefault("GRAPHQL_COMPILED", "verify")

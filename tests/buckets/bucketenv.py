"""Constants shared by conftest.py and the tests (a module of its own, so that no `import conftest` is needed)."""

# Distinctive, so that a hit anywhere is this secret and nothing else.
SECRET = "pdSECRET-7f3a9c-Zq81-do-not-leak-4b2e"
ACCESS_KEY_ID = "AKIAPARTNERTEST0001"

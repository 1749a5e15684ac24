"""Documentation that cannot drift: every fenced block of README.md, packages/*/README.md and
docs/**/*.md runs in ``pytest tests`` (``test_examples.py``, one test per block: ``README.md:25``).

Writing a block that runs:

- ```` ```python ````: runs in the document's namespace (blocks share it, in order), in a temp
  working directory with a fresh ``HOME`` (so octotp's default data dir is new). Top-level ``await``
  works. First line ``# app.py`` (or ``title="app.py"``) also saves the block as that file, for the
  commands of later blocks (``flask octotp db upgrade`` finds ``app.py``). Django: lines ending in
  ``# settings.py`` / ``# urls.py`` go into a ``django-admin startproject mysite .`` project and are
  loaded by ``manage.py check``; the document's other python blocks then run in that project.
  A Flask or FastAPI app a block builds is requested (its octotp ``/healthz``) at the document's end.
- ```` ```sh ````, ```` ```bash ````, ```` ```console ```` (its ``$ `` lines): bash, ``set -euo pipefail``,
  this environment's ``octotp``, ``flask``, ``octotp-client``... first on ``PATH``. ``export``-ed variables
  reach every later block of the document (python's ``os.environ``, node's ``process.env``).
- ```` ```js ````: node (an ES module: ``fetch``, top-level ``await``).
- ```` ```json ````/``toml``/``ini``/``yaml``: parsed (saved when the first line names a file).
- ```` ```text ````: a synopsis or output, not code; reported as a skip.
- ``http://127.0.0.1:8000`` anywhere is the document's own live ``octotp serve`` (the ``tox -e serve``
  command, started on a free port when a block first mentions the URL; stopped at the end).
- ``<!-- skip: next "why" -->`` before a block that cannot run (installs, servers that run until
  stopped); ``pytest -ra`` lists every skip with its reason. ``<!-- invisible-code-block: sh ... -->``
  runs setup the reader does not need to see (what the prose tells them to do by hand).

``test_guard.py`` fails for any fence no runner picks up (an unknown or missing language);
``test_runner.py`` proves the runner passes what works and fails what does not (``samples/``).
"""

"""Where the admin page's `templates/` and `static/` folders are, however haimaker runs.

In a checkout they are top-level folders beside `app/`. An installed package (a wheel, or the
single-file `haimaker.pyz`, which shiv unpacks before running) carries copies in
`app/_assets/`, put there by the build (setup.py), because a wheel only holds packages.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
PACKAGED_ASSETS = _PACKAGE / "_assets"
ASSET_FOLDERS = ("templates", "static")


def asset_dir(name: str) -> Path:
    """The folder `name` ("templates" or "static"): the packaged copy when there is one,
    else the checkout's own."""
    packaged = PACKAGED_ASSETS / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / name

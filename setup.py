"""Packaging hook (the project is configured in pyproject.toml): copy the top-level
`templates/` and `static/` folders into the built `app` package as `app/_assets/`, so a
wheel, and the single-file build made from it (scripts/build_pyz.sh), serves the admin page.
app/assets.py finds them there, or beside `app/` in a checkout."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithAssets(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "app" / "_assets"
        for name in ("templates", "static"):
            source = ROOT / name
            if source.is_dir():
                shutil.rmtree(target / name, ignore_errors=True)
                shutil.copytree(source, target / name)


setup(cmdclass={"build_py": BuildPyWithAssets})

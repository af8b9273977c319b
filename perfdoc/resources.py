"""Where perfdoc's own files are: the repository's top-level folders, or the installed copies."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def resource_dir(name: str) -> Path:
    """`templates` or `profiles`: the checkout's folder when running from one, else the package's."""
    checkout = REPOSITORY / name
    if checkout.is_dir():
        return checkout
    return Path(str(resources.files("perfdoc"))) / name


TEMPLATES_DIR = resource_dir("templates")  # perfdoc's own templates (a build may use a copy: --templates)
PROFILES_DIR = resource_dir("profiles")  # the shipped table formats (a data folder's profiles/ come first)

"""Build options: where things are. A light module, so the up-to-date check can run before the
heavy rendering libraries are even imported."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from perfdoc.resources import TEMPLATES_DIR


@dataclass(frozen=True)
class BuildOptions:
    """Where things are; every field has the default a fresh checkout uses."""

    data_dir: Path = Path("data")
    out_dir: Path = Path("build")
    fonts_dir: Path | None = None  # overrides the department file's fonts_dir
    reference_docx: Path | None = None
    templates_dir: Path = TEMPLATES_DIR
    cache_dir: Path | None = None  # default: <out_dir>/.perfdoc-cache
    use_cache: bool = True

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir or self.out_dir / ".perfdoc-cache"

#!/usr/bin/env python3
"""A deterministic generator of N synthetic projects with realistic text, for scale benchmarks.

    python3 bench/generate.py N OUT_DIR [--seed 2023]

OUT_DIR receives department.yaml (the shipped one) and projects/<code>.yaml: texts are drawn
from the shipped seed projects (so lengths, wrapping and characters are realistic), shuffled and
recombined; amounts and plans vary. Same N and seed → same files.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"


class _NoAliases(yaml.SafeDumper):
    """perfdoc refuses YAML aliases, so the generator writes repeated rows out in full."""

    def ignore_aliases(self, data) -> bool:
        return True


def _seed_projects() -> list[dict]:
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((DATA / "projects").glob("*.yaml"))]


def generate(count: int, out_dir: Path, seed: int = 2023) -> list[Path]:
    rng = random.Random(seed)
    seeds = _seed_projects()
    (out_dir / "projects").mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "department.yaml", out_dir / "department.yaml")
    written = []
    for n in range(count):
        base = rng.choice(seeds)
        budget = round(rng.uniform(0.5, 1500), 2)
        project = {
            "code": f"{900000001 + n}",
            "name": rng.choice(seeds)["name"] + f"（{n + 1}）",
            "budget": budget,
            "fiscal_funds": budget if rng.random() < 0.9 else round(budget * rng.uniform(0.3, 1), 2),
            "use": "".join(rng.choice(seeds)["use"] for _ in range(rng.choice([1, 1, 2]))),
            "spending_plan": rng.choice([s["spending_plan"] for s in seeds[:6]]),
            "goal": rng.choice(seeds)["goal"],
            "indicators": {
                level1: {
                    level2: [rng.choice(seeds)["indicators"][level1][level2][0]
                             for _ in range(rng.choice([1, 1, 1, 2]))]
                    for level2 in group
                }
                for level1, group in base["indicators"].items()
            },
        }
        path = out_dir / "projects" / f"{project['code']}.yaml"
        path.write_text(yaml.dump(project, Dumper=_NoAliases, allow_unicode=True, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", type=int)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=2023)
    args = parser.parse_args()
    generate(args.count, args.out_dir, args.seed)
    print(f"{args.count} projects in {args.out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()

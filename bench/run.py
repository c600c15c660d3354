"""Run every benchmark in bench/ (modules named bench_*.py with a main()), one after another.

`make bench` calls this; `python -m bench.run NAME` runs only the benchmarks whose name contains NAME.
Results are printed; the README's Benchmarks section records them by hand.
"""

import pkgutil
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    wanted = argv[0] if argv else ""
    here = Path(__file__).parent
    for module in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if not module.name.startswith("bench_") or wanted not in module.name:
            continue
        print(f"\n== {module.name} ==", flush=True)
        started = time.perf_counter()
        # One process per benchmark: each sets Django up with its own settings and database.
        subprocess.run([sys.executable, "-m", f"bench.{module.name}"], check=False)
        print(f"({module.name} took {time.perf_counter() - started:.1f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

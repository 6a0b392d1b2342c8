"""`python -m bench`: ours against PostGraphile v5 (see bench/compare.py and bench/README.md)."""

from bench.compare import main

if __name__ == "__main__":
    main()

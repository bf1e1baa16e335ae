"""Demo data: the demo accounts, curated demo stories and the bulk loader for benchmarks."""

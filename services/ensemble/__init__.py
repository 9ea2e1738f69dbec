"""The ensemble service: model registry, provider calls, voting, best-of-k, health probes."""

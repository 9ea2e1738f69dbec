"""The classifier service: NVIDIA's prompt task and complexity classifier, batched, plus the
cluster centroids used for routing."""

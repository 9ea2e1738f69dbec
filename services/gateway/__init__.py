"""The gateway: the public API, composing the classifier, the ensemble and learning."""

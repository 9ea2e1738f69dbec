"""Schema revisions, oldest first: 0001 records and ratings, 0002 profiles."""

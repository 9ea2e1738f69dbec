"""What every Free Scaling service shares: settings, logging, request ids, the server bootstrap."""

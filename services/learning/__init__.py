"""The learning service: call records, ELO, feedback, panel evolution and model profiles."""

"""The notifier: tells users about fills, stops, kill switches, errors and finished jobs."""

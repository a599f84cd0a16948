"""`retrobatch check`: each submission's files, then the rules across the repository."""

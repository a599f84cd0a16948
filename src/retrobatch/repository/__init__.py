"""The files of a submissions repository (settings, manifests, receipts) and git."""

"""The rules a CSV batch is checked by, one object per concern (cells, dates, values, orders,
totals), each fed batch by batch by `csvfile.validate`."""

"""The read-model kit: projections fed from the event store, and SQL-paged summary read models.

`projection.py` runs a read model from a service's notification log (batches, position and
writes in one transaction, quarantine, rebuild, shape tracking); `projection_runs.py` is the
`careledger projections` commands; `summaries.py` declares one summary per aggregate with
typed, indexed columns and folds it in memory (unit tests); `postgres.py` keeps it in a
PostgreSQL table; `query.py` holds the filters, orders and keyset cursors both variants answer
alike; `paging.py` the window a list route reads and the page it answers.
"""

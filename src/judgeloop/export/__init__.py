"""Pure data in and out: readers, column mappings, export rows, writers, Label Studio.

Nothing here touches the database, so SDK users can read and write judgeloop's files
without a server. `services.imports` and `services.exports` put these pieces to work.
Heavy libraries (pyarrow, datasets) are imported inside the functions that need them.
"""
